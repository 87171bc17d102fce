import { Link } from "react-router";
import { TERMINAL_STATUSES } from "../../api/events";
import { useQuery } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { formatBytes, formatDate } from "../../components/format";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import { StatusBadge } from "../../components/StatusBadge";

const RECENT = { limit: 20 };

export default function HomePage() {
  return (
    <Page title="Home">
      <div className="grid">
        <RunningJobs />
        <RecentDatasets />
        <RecentTraining />
        <Models />
        <Deployments />
      </div>
    </Page>
  );
}

interface RunningJob {
  id: string;
  kind: string;
  name: string;
  status: string;
  progress: number;
  href?: string;
}

function RunningJobs() {
  const training = useQuery((api) => api.GET("/api/v1/training/jobs", { params: { query: RECENT } }), []);
  const tests = useQuery((api) => api.GET("/api/v1/test-runs", { params: { query: RECENT } }), []);
  const exports = useQuery((api) => api.GET("/api/v1/export/jobs", { params: { query: RECENT } }), []);
  const inference = useQuery(
    (api) => api.GET("/api/v1/inference/jobs", { params: { query: RECENT } }),
    [],
  );
  const jobs: RunningJob[] = [
    ...(training.data?.items ?? []).map((j) => ({
      id: j.id,
      kind: "Training",
      name: j.name ?? j.model_name,
      status: j.status,
      progress: j.progress_percent,
      href: `/training/${j.id}`,
    })),
    ...(tests.data?.items ?? []).map((j) => ({
      id: j.id, kind: "Test run", name: j.framework, status: j.status, progress: j.progress_percent,
    })),
    ...(exports.data?.items ?? []).map((j) => ({
      id: j.id, kind: "Export", name: j.format, status: j.status, progress: j.progress_percent,
    })),
    ...(inference.data?.items ?? []).map((j) => ({
      id: j.id, kind: "Inference", name: j.inference_type, status: j.status,
      progress: j.progress_percent,
    })),
  ].filter((j) => !TERMINAL_STATUSES.has(j.status));
  const loading = training.loading || tests.loading || exports.loading || inference.loading;
  const error = training.error ?? tests.error ?? exports.error ?? inference.error;
  return (
    <section className="card" aria-labelledby="running-jobs">
      <h2 id="running-jobs">Running jobs</h2>
      <ErrorMessage error={error} />
      {loading && !jobs.length ? <Loading /> : null}
      {!loading && !jobs.length ? <p className="muted">No job is running.</p> : null}
      {jobs.length ? (
        <ul className="plain-list">
          {jobs.map((j) => (
            <li key={j.id}>
              <span className="muted">{j.kind}</span>{" "}
              {j.href ? <Link to={j.href}>{j.name}</Link> : j.name} <StatusBadge status={j.status} />{" "}
              <span className="muted">{Math.round(j.progress)}%</span>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

function RecentDatasets() {
  const datasets = useQuery(
    (api) => api.GET("/api/v1/datasets", { params: { query: { limit: 5 } } }),
    [],
  );
  const items = datasets.data?.items ?? [];
  return (
    <section className="card" aria-labelledby="recent-datasets">
      <h2 id="recent-datasets">Recent datasets</h2>
      <ErrorMessage error={datasets.error} />
      {datasets.loading && !datasets.data ? <Loading /> : null}
      {datasets.data && !items.length ? (
        <p className="muted">
          No dataset yet. <Link to="/datasets">Upload one</Link>.
        </p>
      ) : null}
      <ul className="plain-list">
        {items.map((d) => (
          <li key={d.id}>
            <Link to={`/datasets/${d.id}`}>{d.name}</Link> <StatusBadge status={d.status} />{" "}
            <span className="muted">{d.num_images} images</span>
          </li>
        ))}
      </ul>
      {items.length ? <Link to="/datasets">All datasets</Link> : null}
    </section>
  );
}

function RecentTraining() {
  const jobs = useQuery(
    (api) => api.GET("/api/v1/training/jobs", { params: { query: { limit: 5 } } }),
    [],
  );
  const items = jobs.data?.items ?? [];
  return (
    <section className="card" aria-labelledby="recent-training">
      <h2 id="recent-training">Training jobs</h2>
      <ErrorMessage error={jobs.error} />
      {jobs.loading && !jobs.data ? <Loading /> : null}
      {jobs.data && !items.length ? <p className="muted">No training job yet.</p> : null}
      <ul className="plain-list">
        {items.map((j) => (
          <li key={j.id}>
            <Link to={`/training/${j.id}`}>{j.name ?? j.model_name}</Link>{" "}
            <StatusBadge status={j.status} />{" "}
            <span className="muted">
              epoch {j.current_epoch}/{j.total_epochs} · {formatDate(j.created_at)}
            </span>
          </li>
        ))}
      </ul>
      {items.length ? <Link to="/training">All training jobs</Link> : null}
    </section>
  );
}

function Deployments() {
  const deployments = useQuery(
    (api) => api.GET("/api/v1/deployments", { params: { query: { limit: 5 } } }),
    [],
  );
  const items = deployments.data?.items ?? [];
  return (
    <section className="card" aria-labelledby="deployments">
      <h2 id="deployments">Deployments</h2>
      <ErrorMessage error={deployments.error} />
      {deployments.loading && !deployments.data ? <Loading /> : null}
      {deployments.data && !items.length ? <p className="muted">No deployment yet.</p> : null}
      <ul className="plain-list">
        {items.map((d) => (
          <li key={d.id}>
            <Link to={`/deployments/${d.id}`}>{d.name}</Link> <StatusBadge status={d.status} />{" "}
            <span className="muted">
              {d.strategy}
              {d.endpoint_url ? ` · ${d.endpoint_url}` : ""}
            </span>
          </li>
        ))}
      </ul>
      {items.length ? <Link to="/deployments">All deployments</Link> : null}
    </section>
  );
}

/** Trained models as users meet them: the exported versions, each under its training job. */
function Models() {
  const exports = useQuery(
    (api) =>
      api.GET("/api/v1/export/jobs", { params: { query: { limit: 20 } } }),
    [],
  );
  // The list has no status filter; of the 20 newest, the finished ones are the models.
  const items = (exports.data?.items ?? []).filter((e) => e.status === "completed").slice(0, 5);
  return (
    <section className="card" aria-labelledby="models">
      <h2 id="models">Models</h2>
      <ErrorMessage error={exports.error} />
      {exports.loading && !exports.data ? <Loading /> : null}
      {exports.data && !items.length ? (
        <p className="muted">No exported model yet: export one from a finished training job.</p>
      ) : null}
      <ul className="plain-list">
        {items.map((e) => (
          <li key={e.id}>
            <Link to={`/training/${e.training_job_id}/exports`}>
              {e.framework} · {e.format} v{e.version}
            </Link>{" "}
            {e.is_default ? <span className="badge">default</span> : null}{" "}
            <span className="muted">
              {e.task_type}
              {e.size_bytes ? ` · ${formatBytes(e.size_bytes)}` : ""} · {formatDate(e.created_at)}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
