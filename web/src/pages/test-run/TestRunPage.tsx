import { useEffect } from "react";
import { Link, useParams } from "react-router";
import type { ApiError } from "../../api/errors";
import { TERMINAL_STATUSES } from "../../api/events";
import { useAction, useQuery } from "../../api/hooks";
import type { components } from "../../api/schema";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Fact } from "../../components/Fact";
import { formatDate } from "../../components/format";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import { StatusBadge } from "../../components/StatusBadge";
import { ConfusionMatrix } from "../../components/ConfusionMatrix";
import { OverallMetrics, PerClassMetrics } from "./Metrics";
import { Results } from "./Results";
import "./TestRunPage.css";

type TestRun = components["schemas"]["TestRunRead"];

// A test run is short (seconds to minutes) and its fields only change at a few steps:
// reading it every 2 s until it ends shows each step without holding a stream open.
const POLL_MS = 2000;

export default function TestRunPage() {
  const { testRunId = "" } = useParams();
  const query = useQuery(
    (api) =>
      api.GET("/api/v1/test-runs/{test_run_id}", { params: { path: { test_run_id: testRunId } } }),
    [testRunId],
  );
  const run = query.data;
  const active = !!run && !TERMINAL_STATUSES.has(run.status);
  const { reload } = query;
  useEffect(() => {
    if (!active) return;
    const timer = setTimeout(reload, POLL_MS);
    return () => clearTimeout(timer);
  }, [active, run, query.error, reload]);

  if (!run) {
    return (
      <Page title="Test run">
        <ErrorMessage error={query.error} />
        {query.error ? null : <Loading />}
        <Link to="/test-runs">All test runs</Link>
      </Page>
    );
  }
  const model = String(run.config.model_name ?? run.framework);
  // What the job drew for each image: Grad-CAM where asked for and classification.
  const pictureName =
    run.enable_xai && run.task_type === "image_classification" ? "Grad-CAM" : "drawn prediction";
  return (
    <Page title={`Test run of ${model}`} actions={<Actions run={run} onChange={reload} />}>
      <Overview run={run} model={model} polling={active} error={query.error} />
      {run.overall_metrics ? (
        <div className="grid">
          <section className="card" aria-labelledby="overall">
            <h2 id="overall">Overall metrics</h2>
            <OverallMetrics metrics={run.overall_metrics} />
          </section>
          <section className="card" aria-labelledby="per-class">
            <h2 id="per-class">Per class</h2>
            <PerClassMetrics rows={run.per_class_metrics ?? []} />
          </section>
        </div>
      ) : null}
      <TestConfusion run={run} />
      {run.has_results ? (
        <Results testRunId={run.id} pictureName={pictureName} />
      ) : run.status === "completed" ? (
        <p className="muted">This run left no per-image results.</p>
      ) : null}
    </Page>
  );
}

function Actions({ run, onChange }: { run: TestRun; onChange: () => void }) {
  const cancel = useAction((api) =>
    api.POST("/api/v1/test-runs/{test_run_id}/cancel", {
      params: { path: { test_run_id: run.id } },
    }),
  );
  return (
    <div className="actions">
      <Link to="/test-runs">All test runs</Link>
      {TERMINAL_STATUSES.has(run.status) ? null : (
        <button
          type="button"
          className="danger"
          disabled={cancel.pending}
          onClick={async () => {
            if (await cancel.run()) onChange();
          }}
        >
          Cancel test run
        </button>
      )}
      <ErrorMessage error={cancel.error} />
    </div>
  );
}

function Overview({
  run,
  model,
  polling,
  error,
}: {
  run: TestRun;
  model: string;
  polling: boolean;
  error: ApiError | null;
}) {
  const split = typeof run.config.split === "string" ? run.config.split : "default";
  return (
    <section className="card" aria-labelledby="overview">
      <h2 id="overview">Overview</h2>
      <div role="status" aria-live="polite" className="status-line">
        <StatusBadge status={run.status} />
        <span>{run.processed_images} images measured</span>
        {run.queue_position ? <span>Place in line: {run.queue_position}</span> : null}
        {polling ? <span className="muted">Updating every 2 s</span> : null}
      </div>
      <div className="progress">
        <label htmlFor="test-run-progress">Progress</label>
        <progress id="test-run-progress" max={100} value={run.progress_percent}>
          {Math.round(run.progress_percent)}%
        </progress>
        <span>{Math.round(run.progress_percent)}%</span>
      </div>
      {run.status === "failed" ? (
        <p className="error" role="alert">
          Test run failed: {run.error_message ?? "no reason was reported"}
        </p>
      ) : null}
      {/* A failed reload while polling: the last answer stays on screen, the error beside it. */}
      <ErrorMessage error={error} />
      <dl className="facts">
        <Fact term="Model">
          <Link to={`/training/${run.training_job_id}`}>
            {run.framework} / {model}
          </Link>
        </Fact>
        <Fact term="Dataset">
          <Link to={`/datasets/${run.dataset_id}`}>Open the dataset</Link>
        </Fact>
        <Fact term="Split">{split}</Fact>
        <Fact term="Checkpoint">{String(run.config.checkpoint ?? "best")}</Fact>
        <Fact term="Grad-CAM">{run.enable_xai ? "asked for" : "not asked for"}</Fact>
        <Fact term="Attempt">
          {run.attempt} of {run.max_attempts}
        </Fact>
        <Fact term="Started">{formatDate(run.started_at)}</Fact>
        <Fact term="Ended">{formatDate(run.completed_at)}</Fact>
      </dl>
    </section>
  );
}

/** The run's confusion matrix, classes named as its per-class rows name them (detection
 *  adds a last row and column: objects missed, and detections of nothing). */
function TestConfusion({ run }: { run: TestRun }) {
  const matrix = (run.confusion_matrix ?? []) as number[][];
  if (!matrix.length) return null;
  const names = (run.per_class_metrics ?? []).map((row, i) => {
    const r = (row ?? {}) as Record<string, unknown>;
    return String(r.class_name ?? r.class_id ?? i);
  });
  const labels = matrix.length === names.length + 1 ? [...names, "background"] : names;
  return (
    <section className="card" aria-labelledby="test-confusion">
      <h2 id="test-confusion">Confusion matrix</h2>
      <ConfusionMatrix matrix={matrix} labels={labels} caption="Confusion matrix of the test run" />
    </section>
  );
}
