// Start a test run: a completed training job's checkpoint measured on a ready dataset
// (by default the one it trained on). The chosen model and dataset live in the URL
// (`?training_job=`, `?dataset=`), so the results screen can link here with its model.
import { type FormEvent, type ReactNode, useState } from "react";
import { useNavigate } from "react-router";
import { useSearchParams, withChanges } from "../../api/searchParams";
import { useAction, useQuery } from "../../api/hooks";
import type { components } from "../../api/schema";
import { SelectField } from "../../components/SelectField";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Checkbox } from "../../components/Checkbox";
import { Field } from "../../components/Field";

type Create = components["schemas"]["TestRunCreate"];
type Split = NonNullable<Create["split"]>;
type Runner = NonNullable<Create["runner"]>;

const SPLITS: Array<{ value: Split | ""; label: string }> = [
  { value: "", label: "Default: test, else val, else all" },
  { value: "test", label: "test" },
  { value: "val", label: "val" },
  { value: "train", label: "train" },
  { value: "all", label: "all images" },
];
// Enough choices for a console; a longer history is better searched on its own screen.
const CHOICES = 200;

export function StartTestRunForm() {
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const jobs = useQuery(
    (api) =>
      api.GET("/api/v1/training/jobs", {
        params: { query: { status: "completed", limit: CHOICES } },
      }),
    [],
  );
  const datasets = useQuery(
    (api) => api.GET("/api/v1/datasets", { params: { query: { status: "ready", limit: CHOICES } } }),
    [],
  );
  // The installation's runners, as its registry lists them (a runner is a plug-in).
  const runners = useQuery((api) => api.GET("/api/v1/runners"), []);
  const jobId = params.get("training_job") ?? "";
  const job = jobs.data?.items.find((j) => j.id === jobId);
  const datasetId = params.get("dataset") ?? job?.dataset_id ?? "";
  const [split, setSplit] = useState<Split | "">("");
  const [checkpoint, setCheckpoint] = useState<Create["checkpoint"]>("best");
  const [xai, setXai] = useState(false);
  const [visualizations, setVisualizations] = useState("20");
  const [runner, setRunner] = useState<Runner | "">("");
  const [gpu, setGpu] = useState("");
  const start = useAction((api, body: Create) => api.POST("/api/v1/test-runs", { body }));

  const choose = (changes: Record<string, string>) =>
    setParams(withChanges(params, changes), { replace: true });

  async function submit(event: FormEvent) {
    event.preventDefault();
    // Sent as typed: the API's 422 names what is missing or out of range.
    const run = await start.run({
      training_job_id: jobId,
      dataset_id: datasetId,
      split: split || null,
      checkpoint,
      enable_xai: xai,
      max_visualizations: visualizations === "" ? 20 : Number(visualizations),
      runner: runner || null,
      gpu: gpu || null,
    } as Create);
    if (run) navigate(`/test-runs/${run.id}`);
  }

  const fields = start.error?.fieldErrors ?? {};
  return (
    <section className="card" aria-labelledby="start-test-run">
      <h2 id="start-test-run">Start a test run</h2>
      <ErrorMessage error={jobs.error ?? datasets.error} />
      {jobs.data && !jobs.data.items.length ? (
        <p className="muted">No completed training job yet: train a model first.</p>
      ) : null}
      <form className="form" onSubmit={submit} noValidate>
        <Select
          label="Trained model"
          value={jobId}
          error={fields.training_job_id}
          onChange={(value) => choose({ training_job: value, dataset: "" })}
        >
          <option value="">Choose a completed training job</option>
          {jobs.data?.items.map((j) => (
            <option key={j.id} value={j.id}>
              {j.name ?? j.model_name} ({j.framework}/{j.model_name})
            </option>
          ))}
        </Select>
        <Select
          label="Dataset"
          value={datasetId}
          error={fields.dataset_id}
          hint={job ? "Defaults to the dataset the model trained on." : undefined}
          onChange={(value) => choose({ dataset: value })}
        >
          <option value="">Choose a ready dataset</option>
          {datasets.data?.items.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name} ({d.num_images} images)
            </option>
          ))}
        </Select>
        <Select
          label="Split"
          value={split}
          error={fields.split}
          onChange={(value) => setSplit(value as Split | "")}
        >
          {SPLITS.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </Select>
        <Select
          label="Checkpoint"
          value={checkpoint}
          error={fields.checkpoint}
          onChange={(value) => setCheckpoint(value as Create["checkpoint"])}
        >
          <option value="best">best</option>
          <option value="last">last</option>
        </Select>
        <Checkbox label="Explain predictions (Grad-CAM)" checked={xai} onChange={setXai} />
        <Field
          label="Images to visualize"
          type="number"
          min={0}
          max={1000}
          inputMode="numeric"
          value={visualizations}
          onChange={(e) => setVisualizations(e.target.value)}
          error={fields.max_visualizations}
          hint="The first images get a picture: Grad-CAM when asked (classification), else the prediction drawn."
        />
        <details>
          <summary>Where it runs</summary>
          <div className="form nested-form">
            <Select
              label="Runner"
              value={runner}
              error={fields.runner}
              onChange={(value) => setRunner(value as Runner | "")}
            >
              <option value="">{"The installation's default"}</option>
              {(runners.data ?? []).map((r) => (
                <option key={r.name} value={r.name}>
                  {r.name}
                </option>
              ))}
            </Select>
            <Field
              label="GPU"
              value={gpu}
              onChange={(e) => setGpu(e.target.value)}
              error={fields.gpu}
              hint="Empty: the runner's default. T4, A10G, H100, any, or TYPE:COUNT."
            />
          </div>
        </details>
        <ErrorMessage
          error={start.error}
          besideFields={[
            "training_job_id",
            "dataset_id",
            "split",
            "checkpoint",
            "max_visualizations",
            "runner",
            "gpu",
          ]}
        />
        <button type="submit" disabled={start.pending}>
          {start.pending ? "Starting…" : "Start test run"}
        </button>
      </form>
    </section>
  );
}

/** SelectField, told the chosen value rather than the change event. */
function Select({
  onChange,
  ...field
}: {
  label: string;
  value: string;
  error?: string | undefined;
  hint?: string | undefined;
  onChange: (value: string) => void;
  children: ReactNode;
}) {
  return <SelectField {...field} onChange={(e) => onChange(e.target.value)} />;
}
