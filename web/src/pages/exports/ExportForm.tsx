// A new export of the training job: only the formats the runner's workers can make for
// this framework (GET /export/capabilities), the others listed with why not; ONNX
// quantization where the workers support it.
import { type FormEvent, useState } from "react";
import { useAction, useQuery } from "../../api/hooks";
import type { components, operations } from "../../api/schema";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Checkbox } from "../../components/Checkbox";
import { Field } from "../../components/Field";
import { Loading } from "../../components/Loading";
import { SelectField } from "../../components/SelectField";

type ExportCreate = components["schemas"]["ExportJobCreate"];
// What the form sets; the API fills in its own defaults for the rest (opset, attempts,
// timeout), which the generated type lists as required because they have defaults.
type ExportRequest = Pick<
  ExportCreate,
  "training_job_id" | "format" | "checkpoint" | "max_metric_drop" | "quantization" | "version_tag" | "set_default"
>;
type Format = ExportCreate["format"];
type Framework = NonNullable<
  NonNullable<operations["export_capabilities_api_v1_export_capabilities_get"]["parameters"]["query"]>["framework"]
>;
type Quantization = NonNullable<ExportCreate["quantization"]>;

const QUANTIZATION_WORDS: Record<string, string> = {
  dynamic_int8: "INT8, dynamic",
  static_int8: "INT8, static (calibrated on training images)",
  fp16: "FP16",
};

interface Capability {
  supported?: boolean;
  route?: string | null;
  reason?: string | null;
}

export function ExportForm({
  trainingJobId,
  framework,
  onStarted,
}: {
  trainingJobId: string;
  framework: string;
  onStarted: () => void;
}) {
  const caps = useQuery((api) => api.GET("/api/v1/export/capabilities", { params: { query: { framework: framework as Framework } } }), [framework]);
  const create = useAction((api, body: ExportRequest) =>
    api.POST("/api/v1/export/jobs", { body: body as ExportCreate }),
  );
  const [format, setFormat] = useState<string>("");
  const [quantization, setQuantization] = useState("");
  const [checkpoint, setCheckpoint] = useState<"best" | "last">("best");
  const [maxDrop, setMaxDrop] = useState("0.02");
  const [tag, setTag] = useState("");
  const [makeDefault, setMakeDefault] = useState(false);

  if (!caps.data) {
    return (
      <>
        <ErrorMessage error={caps.error} />
        {caps.error ? null : <Loading what="Asking what the workers can export" />}
      </>
    );
  }
  const formats = Object.entries((caps.data.frameworks[framework] ?? {}) as Record<string, Capability>);
  const supported = formats.filter(([, c]) => c.supported);
  const missing = formats.filter(([, c]) => !c.supported);
  const chosen = format || supported[0]?.[0] || "";
  const quantizations = Object.entries(caps.data.quantizations as Record<string, Capability>).filter(
    ([, c]) => c.supported,
  );
  const quantizable = chosen === "onnx" && quantizations.length > 0;
  const errors = create.error?.fieldErrors ?? {};

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body: ExportRequest = {
      training_job_id: trainingJobId,
      format: chosen as Format,
      checkpoint,
      max_metric_drop: Number(maxDrop),
      quantization: quantizable && quantization ? (quantization as Quantization) : null,
      version_tag: tag.trim() || null,
      set_default: makeDefault,
    };
    if (await create.run(body)) {
      setTag("");
      onStarted();
    }
  };

  if (!supported.length) {
    return (
      <p className="notice">
        The {caps.data.runner} runner's workers cannot export {framework} models.
        {missing.map(([f, c]) => ` ${f}: ${c.reason ?? "not supported"}.`).join("")}
      </p>
    );
  }
  return (
    <form className="form export-form" onSubmit={submit} aria-labelledby="new-export">
      <SelectField
        label="Format"
        value={chosen}
        error={errors.format}
        onChange={(e) => setFormat(e.target.value)}
      >
        {supported.map(([f, c]) => (
          <option key={f} value={f}>
            {f}
            {c.route === "via_onnx" ? " (via ONNX)" : ""}
          </option>
        ))}
      </SelectField>
      <SelectField
        label="Checkpoint"
        value={checkpoint}
        onChange={(e) => setCheckpoint(e.target.value as "best" | "last")}
      >
        <option value="best">Best</option>
        <option value="last">Last</option>
      </SelectField>
      {quantizable ? (
        <SelectField
          label="Quantization"
          value={quantization}
          error={errors.quantization}
          onChange={(e) => setQuantization(e.target.value)}
        >
          <option value="">None (FP32)</option>
          {quantizations.map(([q]) => (
            <option key={q} value={q}>
              {QUANTIZATION_WORDS[q] ?? q}
            </option>
          ))}
        </SelectField>
      ) : null}
      <Field
        label="Largest metric drop allowed"
        type="number"
        step="0.01"
        min="0"
        max="1"
        value={maxDrop}
        onChange={(e) => setMaxDrop(e.target.value)}
        error={errors.max_metric_drop}
        hint="The export fails when its validation metric falls further below the checkpoint's."
      />
      <Field
        label="Version tag"
        value={tag}
        onChange={(e) => setTag(e.target.value)}
        error={errors.version_tag}
        hint="Optional, such as production or v1.2."
      />
      <Checkbox
        label="Make it the default when it completes"
        checked={makeDefault}
        onChange={setMakeDefault}
      />
      <div className="actions">
        <button type="submit" disabled={create.pending}>
          {create.pending ? "Starting…" : "Start export"}
        </button>
      </div>
      <ErrorMessage
        error={create.error}
        besideFields={["format", "quantization", "max_metric_drop", "version_tag"]}
      />
      {missing.length ? (
        <details className="muted">
          <summary>Formats these workers cannot make</summary>
          <ul>
            {missing.map(([f, c]) => (
              <li key={f}>
                {f}: {c.reason ?? "not supported"}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </form>
  );
}
