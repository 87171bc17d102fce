// Deploy a completed export. The export chosen lives in the URL (`?export=ID`, which the
// exports screen links to), so a reload or a shared link keeps it.
import { type FormEvent, useState } from "react";
import { Link } from "react-router";
import { useSearchParams } from "../../api/searchParams";
import { useAction, useQuery } from "../../api/hooks";
import type { components } from "../../api/schema";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Field } from "../../components/Field";
import { formatBytes, formatDate } from "../../components/format";
import { SelectField } from "../../components/SelectField";
import { KeyPanel } from "../deployment/KeyPanel";
import { rememberKey } from "../deployment/shownKeys";

type Created = components["schemas"]["DeploymentCreated"];
type Body = components["schemas"]["DeploymentCreate"];
type Export = components["schemas"]["ExportJobRead"];

const STRATEGIES: Array<{ value: Body["strategy"]; label: string }> = [
  { value: "platform_endpoint", label: "Platform endpoint (HTTPS, API key; ONNX exports)" },
  { value: "download", label: "Download package" },
  { value: "edge_package", label: "Edge package" },
  { value: "container", label: "Container bundle" },
];
const TIERS: Array<NonNullable<Body["tier"]>> = ["free", "pro", "enterprise"];
const FIELDS = ["export_job_id", "name", "strategy", "tier", "description"];

export function exportLabel(e: Export): string {
  const version = e.version_tag ?? `v${e.version}`;
  const size = e.size_bytes ? `, ${formatBytes(e.size_bytes)}` : "";
  const when = formatDate(e.completed_at ?? e.created_at);
  return `${version} · ${e.format} · ${e.framework} ${e.task_type}${size} · ${when}`;
}

export function CreateDeploymentForm({ onCreated }: { onCreated: () => void }) {
  const [params, setParams] = useSearchParams();
  const exportId = params.get("export") ?? "";
  const exports = useQuery(
    (api) => api.GET("/api/v1/export/jobs", { params: { query: { limit: 200 } } }),
    [],
  );
  const completed = (exports.data?.items ?? []).filter((e) => e.status === "completed");
  const [name, setName] = useState("");
  const [strategy, setStrategy] = useState<Body["strategy"]>("platform_endpoint");
  const [tier, setTier] = useState<NonNullable<Body["tier"]>>("free");
  const [created, setCreated] = useState<Created | null>(null);
  const create = useAction((api, body: Body) => api.POST("/api/v1/deployments", { body }));

  async function submit(event: FormEvent) {
    event.preventDefault();
    setCreated(null);
    const answer = await create.run({ export_job_id: exportId, name, strategy, tier });
    if (answer) {
      if (answer.api_key) rememberKey(answer.id, answer.api_key);
      setCreated(answer);
      setName("");
      onCreated();
    }
  }

  const fields = create.error?.fieldErrors ?? {};
  const chosenMissing = exportId && exports.data && !completed.some((e) => e.id === exportId);
  return (
    <section className="card" aria-labelledby="create-deployment">
      <h2 id="create-deployment">Deploy an export</h2>
      <ErrorMessage error={exports.error} />
      {exports.data && !completed.length ? (
        <p className="muted">
          No completed export yet: export a finished training run from its{" "}
          <Link to="/training">training job</Link> first.
        </p>
      ) : null}
      <form className="form" onSubmit={submit} noValidate>
        <SelectField
          label="Export"
          value={exportId}
          error={fields.export_job_id}
          hint={chosenMissing ? "The linked export is not a completed export of yours." : undefined}
          onChange={(e) => {
            const next = new URLSearchParams(params);
            if (e.target.value) next.set("export", e.target.value);
            else next.delete("export");
            setParams(next, { replace: true });
          }}
        >
          <option value="">
            {exports.loading ? "Loading exports…" : "Choose a completed export"}
          </option>
          {completed.map((e) => (
            <option key={e.id} value={e.id}>
              {exportLabel(e)}
            </option>
          ))}
        </SelectField>
        <Field
          label="Name"
          required
          maxLength={255}
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={fields.name}
        />
        <SelectField
          label="Strategy"
          value={strategy}
          error={fields.strategy}
          onChange={(e) => setStrategy(e.target.value as Body["strategy"])}
        >
          {STRATEGIES.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </SelectField>
        <SelectField
          label="Tier"
          value={tier}
          error={fields.tier}
          hint="Rate limit and monthly quota of the endpoint."
          onChange={(e) => setTier(e.target.value as NonNullable<Body["tier"]>)}
        >
          {TIERS.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </SelectField>
        <div className="actions">
          <button type="submit" disabled={create.pending}>
            {create.pending ? "Deploying…" : "Deploy"}
          </button>
        </div>
        <ErrorMessage error={create.error} besideFields={FIELDS} />
      </form>
      {created ? <CreatedResult created={created} /> : null}
    </section>
  );
}

function CreatedResult({ created }: { created: Created }) {
  return (
    <div className="upload-result" role="status">
      <p>
        Deployed <Link to={`/deployments/${created.id}`}>{created.name}</Link> ({created.status}).
      </p>
      {created.api_key ? (
        <KeyPanel apiKey={created.api_key} title={`API key of ${created.name}`} />
      ) : null}
      {created.download_url ? (
        <p>
          <a href={created.download_url}>Download the artifact</a>{" "}
          <span className="muted">
            (this link expires {formatDate(created.download_expires_at)}; the deployment's page
            makes a new one)
          </span>
        </p>
      ) : null}
    </div>
  );
}
