import { type FormEvent, useRef, useState } from "react";
import { Link } from "react-router";
import { formData } from "../../api/client";
import { useAction } from "../../api/hooks";
import type { components } from "../../api/schema";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Field } from "../../components/Field";
import { SelectField } from "../../components/SelectField";
import { StatusBadge } from "../../components/StatusBadge";
import { ValidationErrors } from "../../components/ValidationErrors";

type Dataset = components["schemas"]["DatasetRead"];
type Format = NonNullable<components["schemas"]["Body_upload_dataset_api_v1_datasets_post"]["format"]>;

const FORMATS: Array<{ value: Format | ""; label: string }> = [
  { value: "", label: "Detect from the files" },
  { value: "imagefolder", label: "ImageFolder (class/image)" },
  { value: "yolo", label: "YOLO" },
  { value: "coco", label: "COCO" },
  { value: "pascal_voc", label: "Pascal VOC" },
  { value: "semantic_masks", label: "Semantic masks (images/, masks/, classes.txt)" },
];

/** Upload an archive or loose files; the API validates every image and label at once. */
export function UploadForm({ onUploaded }: { onUploaded: (dataset: Dataset) => void }) {
  const [name, setName] = useState("");
  const [format, setFormat] = useState<Format | "">("");
  const [files, setFiles] = useState<File[]>([]);
  const [result, setResult] = useState<Dataset | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const upload = useAction((api, body: { name: string; files: File[]; format: Format | null }) =>
    api.POST("/api/v1/datasets", { body, bodySerializer: formData }),
  );

  async function submit(event: FormEvent) {
    event.preventDefault();
    setResult(null);
    const dataset = await upload.run({ name, files, format: format || null });
    if (dataset) {
      setResult(dataset);
      setName("");
      setFiles([]);
      if (fileInput.current) fileInput.current.value = "";
      onUploaded(dataset);
    }
  }

  const fields = upload.error?.fieldErrors ?? {};
  return (
    <section className="card" aria-labelledby="upload-heading">
      <h2 id="upload-heading">Upload a dataset</h2>
      <form className="form" onSubmit={submit} noValidate>
        <Field
          label="Name"
          required
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={fields.name}
        />
        <Field
          label="Files"
          ref={fileInput}
          type="file"
          multiple
          required
          accept=".zip,.tar,.gz,.tgz,image/*,.txt,.json,.xml,.yaml,.yml"
          onChange={(e) => setFiles(Array.from(e.target.files ?? []))}
          error={fields.files}
          hint="One archive (.zip, .tar, .tar.gz), or the dataset's files."
        />
        <SelectField
          label="Format"
          value={format}
          onChange={(e) => setFormat(e.target.value as Format | "")}
        >
          {FORMATS.map((f) => (
            <option key={f.value} value={f.value}>
              {f.label}
            </option>
          ))}
        </SelectField>
        <ErrorMessage error={upload.error} besideFields={["name", "files"]} />
        <button type="submit" disabled={upload.pending}>
          {upload.pending ? "Uploading and validating…" : "Upload"}
        </button>
        {upload.pending ? (
          <p className="muted" role="status">
            Every image is decoded and every label checked; large datasets take a while.
          </p>
        ) : null}
      </form>
      {result ? <UploadResult dataset={result} /> : null}
    </section>
  );
}

function UploadResult({ dataset }: { dataset: Dataset }) {
  return (
    <div className="upload-result" role="status">
      <p>
        <Link to={`/datasets/${dataset.id}`}>{dataset.name}</Link> uploaded:{" "}
        <StatusBadge status={dataset.status} /> {dataset.num_images} images
        {dataset.num_classes ? `, ${dataset.num_classes} classes` : ""}
        {dataset.format ? ` (${dataset.format})` : ""}.
      </p>
      <ValidationErrors report={dataset.validation_errors} />
    </div>
  );
}
