import { type FormEvent, useRef, useState } from "react";
import { formData } from "../../api/client";
import { useAction } from "../../api/hooks";
import type { components } from "../../api/schema";
import { FormEnd } from "../../components/FormEnd";
import { Field } from "../../components/Field";
import { SelectField } from "../../components/SelectField";

type Upload = components["schemas"]["Body_upload_weights_api_v1_pretrained_weights_post"];
type CatalogModel = components["schemas"]["ModelRead"];

const FIELDS = [
  "file",
  "name",
  "framework",
  "base_architecture",
  "num_classes",
  "description",
  "pretraining_dataset",
  "visibility",
];

/** Upload a weights file for a catalog model; the API checks its bytes before keeping it. */
export function UploadWeights({
  models,
  onUploaded,
}: {
  models: CatalogModel[];
  onUploaded: () => void;
}) {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [framework, setFramework] = useState("");
  const [architecture, setArchitecture] = useState("");
  const [numClasses, setNumClasses] = useState("");
  const [description, setDescription] = useState("");
  const [pretrainedOn, setPretrainedOn] = useState("");
  const [visibility, setVisibility] = useState("private");
  const [uploaded, setUploaded] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const upload = useAction((api, body: Upload) =>
    api.POST("/api/v1/pretrained-weights", { body, bodySerializer: formData }),
  );

  const frameworks = [...new Set(models.map((m) => m.framework))].sort();
  const architectures = models.filter((m) => m.framework === framework);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setUploaded(null);
    const weights = await upload.run({
      // Missing ones are left out of the form, for the API to name beside their fields.
      file: file as Blob,
      name,
      framework: framework as Upload["framework"],
      base_architecture: architecture,
      num_classes: numClasses || null,
      description: description || null,
      pretraining_dataset: pretrainedOn || null,
      visibility,
    });
    if (weights) {
      setUploaded(weights.name);
      setName("");
      setFile(null);
      setNumClasses("");
      setDescription("");
      setPretrainedOn("");
      if (fileInput.current) fileInput.current.value = "";
      onUploaded();
    }
  }

  const fields = upload.error?.fieldErrors ?? {};
  return (
    <section className="card" aria-labelledby="upload-weights">
      <h2 id="upload-weights">Upload weights</h2>
      <form className="form" onSubmit={submit} noValidate>
        <Field
          label="Weights file"
          ref={fileInput}
          type="file"
          required
          accept=".safetensors,.pt,.pth,.bin"
          onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          error={fields.file}
          hint="One .safetensors, .pt, .pth or .bin file (what torch.save writes), up to 2 GB."
        />
        <Field
          label="Name"
          required
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={fields.name}
        />
        <SelectField
          label="Framework"
          required
          value={framework}
          error={fields.framework}
          onChange={(e) => {
            setFramework(e.target.value);
            setArchitecture("");
          }}
        >
          <option value="">Choose a framework</option>
          {frameworks.map((f) => (
            <option key={f} value={f}>
              {f}
            </option>
          ))}
        </SelectField>
        <SelectField
          label="Model"
          required
          value={architecture}
          disabled={!framework}
          error={fields.base_architecture}
          onChange={(e) => setArchitecture(e.target.value)}
        >
          <option value="">{framework ? "Choose a model" : "Choose a framework first"}</option>
          {architectures.map((m) => (
            <option key={m.name} value={m.name}>
              {m.name} ({m.task_types.join(", ")})
            </option>
          ))}
        </SelectField>
        <Field
          label="Number of classes"
          type="number"
          min={1}
          value={numClasses}
          onChange={(e) => setNumClasses(e.target.value)}
          error={fields.num_classes}
          hint="Optional: the classes of the head these weights carry."
        />
        <Field
          label="Pretrained on"
          value={pretrainedOn}
          onChange={(e) => setPretrainedOn(e.target.value)}
          error={fields.pretraining_dataset}
          hint="Optional: the dataset they were trained on, such as ImageNet-1k."
        />
        <Field
          label="Description"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          error={fields.description}
        />
        <SelectField
          label="Visibility"
          value={visibility}
          hint="Publishing needs the manager role."
          onChange={(e) => setVisibility(e.target.value)}
        >
          <option value="private">Private: only you</option>
          <option value="public">Public: every user</option>
        </SelectField>
        <FormEnd
          action={upload}
          besideFields={FIELDS}
          submit={upload.pending ? "Uploading and checking…" : "Upload weights"}
          done={uploaded ? <>{uploaded} uploaded.</> : null}
        />
      </form>
    </section>
  );
}
