// A training job's results: the chosen epoch's (the best by default, `?epoch=` in the
// URL) metric cards, per-class table, confusion matrix and PR curves, and the job's
// checkpoints. A running job's results arrive as its epochs are validated.
import { useParams } from "react-router";
import { useSearchParams } from "../../api/searchParams";
import { TERMINAL_STATUSES } from "../../api/events";
import { useQuery } from "../../api/hooks";
import type { components } from "../../api/schema";
import { ConfusionMatrix } from "../../components/ConfusionMatrix";
import { ErrorMessage } from "../../components/ErrorMessage";
import { formatMetric } from "../../components/format";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import { PrCurveChart } from "../../components/PrCurveChart";
import { prCurvesOf } from "../../components/prCurves";
import { StatusBadge } from "../../components/StatusBadge";
import { JobLinks, JobNotLoaded, TrainingTabs } from "../training-run/TrainingTabs";
import { Checkpoints } from "./Checkpoints";
import { MetricCards } from "./MetricCards";
import { PerClassTable } from "./PerClassTable";
import { useRefreshOnEvents } from "./useRefreshOnEvents";
import "./results.css";

type Result = components["schemas"]["ValidationResultRead"];
type Job = components["schemas"]["TrainingJobRead"];

export default function TrainingResultsPage() {
  const { jobId = "" } = useParams();
  const path = { training_job_id: jobId };
  const job = useQuery((api) => api.GET("/api/v1/training/jobs/{training_job_id}", { params: { path } }), [jobId]);
  const results = useQuery(
    (api) => api.GET("/api/v1/training/jobs/{training_job_id}/validation-results", { params: { path } }),
    [jobId],
  );
  const j = job.data;
  const active = !!j && !TERMINAL_STATUSES.has(j.status);
  useRefreshOnEvents(jobId, active, () => {
    job.reload();
    results.reload();
  });

  if (!j) {
    return <JobNotLoaded title="Training results" jobId={jobId} error={job.error} />;
  }
  const name = j.name ?? `${j.model_name} training`;
  return (
    <Page
      title={`Results: ${name}`}
      actions={<JobLinks job={j} />}
    >
      <TrainingTabs jobId={jobId} />
      <JobState job={j} />
      <ErrorMessage error={results.error} />
      {results.data ? (
        <EpochResults job={j} results={results.data} />
      ) : results.error ? null : (
        <Loading what="Loading the results" />
      )}
      <Checkpoints jobId={jobId} version={`${j.last_checkpoint_epoch}-${j.best_epoch}-${j.status}`} />
    </Page>
  );
}

function JobState({ job }: { job: Job }) {
  if (job.status === "failed") {
    return (
      <p className="error" role="alert">
        Training failed: {job.error_message ?? "no reason was reported"}
      </p>
    );
  }
  if (job.status === "cancelled") {
    return <p className="notice">Training was cancelled; the results are those of the epochs it validated.</p>;
  }
  if (!TERMINAL_STATUSES.has(job.status)) {
    return (
      <p className="notice" role="status">
        <StatusBadge status={job.status} /> Training is {job.status}: results arrive as epochs are
        validated (epoch {job.current_epoch} of {job.total_epochs}).
      </p>
    );
  }
  return null;
}

/** The epoch in the URL, else the best one, else the latest. */
function chosenEpoch(results: Result[], param: string | null, job: Job): Result | undefined {
  const wanted = param === null ? null : Number(param);
  return (
    results.find((r) => r.epoch === wanted) ??
    results.find((r) => r.epoch === job.best_epoch) ??
    results.find((r) => r.is_best) ??
    results[results.length - 1]
  );
}

function EpochResults({ job, results }: { job: Job; results: Result[] }) {
  const [params, setParams] = useSearchParams();
  if (!results.length) {
    return <p className="muted">No epoch has been validated yet.</p>;
  }
  const result = chosenEpoch(results, params.get("epoch"), job)!;
  const curves = prCurvesOf(result.pr_curves);
  const perClass = (result.per_class_metrics ?? []).filter(
    (r): r is Record<string, unknown> => !!r && typeof r === "object",
  );
  const names = perClass.map((r) => String(r.class_name ?? r.class_id));
  const matrix = (result.confusion_matrix ?? []) as number[][];
  // Detection adds a last row and column: objects missed, and detections of nothing.
  const labels = matrix.length === names.length + 1 ? [...names, "background"] : names;
  const prClass = params.get("pr_class") ?? "";
  const shownCurves = prClass ? curves.filter((c) => c.name === prClass) : curves;
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next);
  };

  return (
    <>
      <section className="card" aria-labelledby="metrics">
        <div className="section-head">
          <h2 id="metrics">
            Epoch {result.epoch}
            {result.is_best ? " (best)" : ""}
          </h2>
          <div className="inline-field">
            <label htmlFor="results-epoch">Epoch</label>
            <select
              id="results-epoch"
              value={String(result.epoch)}
              onChange={(e) => set("epoch", e.target.value)}
            >
              {results.map((r) => (
                <option key={r.epoch} value={r.epoch}>
                  {r.epoch}
                  {r.is_best ? " (best)" : ""} · {r.primary_metric_name} {formatMetric(r.primary_metric_value)}
                </option>
              ))}
            </select>
          </div>
        </div>
        <MetricCards metrics={{ ...result.metrics, [result.primary_metric_name]: result.primary_metric_value }} primaryName={result.primary_metric_name} />
      </section>
      {perClass.length ? (
        <section className="card" aria-labelledby="per-class">
          <h2 id="per-class">Per class</h2>
          <PerClassTable rows={perClass} curves={curves} />
        </section>
      ) : null}
      {matrix.length ? (
        <section className="card" aria-labelledby="confusion">
          <h2 id="confusion">Confusion matrix</h2>
          <ConfusionMatrix matrix={matrix} labels={labels} caption={`Confusion matrix of epoch ${result.epoch}`} />
        </section>
      ) : null}
      {curves.length ? (
        <section className="card" aria-labelledby="pr-curves">
          <div className="section-head">
            <h2 id="pr-curves">Precision-recall curves</h2>
            <div className="inline-field">
              <label htmlFor="pr-class">Class</label>
              <select id="pr-class" value={prClass} onChange={(e) => set("pr_class", e.target.value)}>
                <option value="">All classes</option>
                {curves.map((c) => (
                  <option key={c.name} value={c.name}>
                    {c.name}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <PrCurveChart
            title={`Precision-recall curves of epoch ${result.epoch}${prClass ? `, ${prClass}` : ""}`}
            curves={shownCurves}
          />
        </section>
      ) : null}
    </>
  );
}
