import { type FormEvent, useEffect, useId } from "react";
import { useNavigate } from "react-router";
import { useAction, useQuery } from "../../api/hooks";
import type { components, operations } from "../../api/schema";
import { Checkbox } from "../../components/Checkbox";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Field } from "../../components/Field";
import { Loading } from "../../components/Loading";
import { SchemaField } from "../../components/SchemaField";
import { configBody, configRaw, withConfig, withParam } from "./formState";

type ConfigSchema = components["schemas"]["ConfigSchema"];
type JobBody = components["schemas"]["TrainingJobCreate"];
type SchemaQuery = operations["config_schema_api_v1_training_config_schema_get"]["parameters"]["query"];
// The generated type marks fields that have a default as required; leaving these out is
// what lets the API hold them to the role's limits.
type JobRequest = Omit<JobBody, "max_attempts" | "timeout_seconds"> &
  Partial<Pick<JobBody, "max_attempts">>;

// The request schema's own range for max_attempts; a role may be held to fewer, which
// only the API knows and says (422 naming the field).
const ATTEMPTS = { min: 1, max: 10 };

/** The training settings the API's config schema lists for this framework and task, the
 *  job's name and attempts, and the one button that creates the job. */
export function TrainingForm({
  datasetId,
  framework,
  model,
  task,
  params,
  setParams,
  onPresets,
}: {
  datasetId: string;
  framework: string;
  model: string;
  task: string;
  params: URLSearchParams;
  setParams: (next: URLSearchParams, options?: { replace?: boolean }) => void;
  onPresets: (presets: ConfigSchema["presets"]) => void;
}) {
  const id = useId();
  const navigate = useNavigate();
  const schema = useQuery(
    (api) =>
      api.GET("/api/v1/training/config-schema", {
        params: {
          // Both come from the API's own catalog and dataset.
          query: {
            framework: framework as SchemaQuery["framework"],
            task_type: task as SchemaQuery["task_type"],
          },
        },
      }),
    [framework, task],
  );
  const presets = schema.data?.presets;
  useEffect(() => onPresets(presets ?? {}), [presets]);
  const create = useAction((api, body: JobRequest) =>
    api.POST("/api/v1/training/jobs", { body: body as JobBody }),
  );
  if (!schema.data) {
    return (
      <section className="card" aria-labelledby={`${id}-heading`}>
        <h2 id={`${id}-heading`}>Settings</h2>
        <ErrorMessage error={schema.error} />
        {schema.loading ? <Loading /> : null}
      </section>
    );
  }
  const { fields } = schema.data;
  const start = params.get("start") !== "0";
  const errors = create.error?.fieldErrors ?? {};
  // Each keystroke replaces the URL's entry; a preset, a model or a chat answer adds one.
  const edit = (next: URLSearchParams) => {
    create.reset();
    setParams(next, { replace: true });
  };

  async function submit(event: FormEvent) {
    event.preventDefault();
    const attempts = params.get("attempts");
    const job = await create.run({
      name: params.get("name") || null,
      dataset_id: datasetId,
      framework,
      model_name: model,
      config: configBody(params, fields),
      ...(attempts ? { max_attempts: Number(attempts) } : {}),
      start,
    });
    if (job) navigate(`/training/${job.id}`);
  }

  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Settings</h2>
      <div className="presets" role="group" aria-label="Presets">
        {Object.entries(schema.data.presets).map(([name, values]) => (
          <button
            key={name}
            type="button"
            className="secondary"
            title={Object.entries(values)
              .map(([k, v]) => `${k} ${String(v)}`)
              .join(", ")}
            onClick={() => {
              create.reset();
              setParams(withConfig(params, values));
            }}
          >
            {`Apply the ${name} preset`}
          </button>
        ))}
      </div>
      <form className="training-form" onSubmit={submit}>
        <Field
          label="Job name"
          maxLength={255}
          value={params.get("name") ?? ""}
          placeholder={`${model} training`}
          hint="Empty: named after the model"
          onChange={(e) => edit(withParam(params, "name", e.target.value))}
          error={errors.name}
        />
        <div className="config-fields">
          {fields.map((f) => (
            <SchemaField
              key={f.name}
              field={f}
              value={configRaw(params, f)}
              onChange={(raw) => edit(withConfig(params, { [f.name]: raw }))}
              error={errors[f.name]}
            />
          ))}
          <Field
            label="Attempts"
            type="number"
            min={ATTEMPTS.min}
            max={ATTEMPTS.max}
            step={1}
            value={params.get("attempts") ?? ""}
            placeholder="Your role's most"
            hint="Tries before the job counts as failed; empty: the most your role allows"
            onChange={(e) => edit(withParam(params, "attempts", e.target.value))}
            error={errors.max_attempts}
          />
        </div>
        <Checkbox
          label="Start at once"
          checked={start}
          onChange={(checked) => edit(withParam(params, "start", checked ? null : "0"))}
        />
        <ErrorMessage
          error={create.error}
          besideFields={["name", "max_attempts", ...fields.map((f) => f.name)]}
        />
        <button type="submit" disabled={create.pending}>
          {create.pending ? "Creating…" : start ? "Start training" : "Create the job"}
        </button>
      </form>
    </section>
  );
}
