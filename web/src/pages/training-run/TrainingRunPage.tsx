import { useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import { TERMINAL_STATUSES } from "../../api/events";
import { useAction } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Fact } from "../../components/Fact";
import { formatDate, formatDuration, formatMetric } from "../../components/format";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import { StatusBadge } from "../../components/StatusBadge";
import { describe, EventLog } from "./EventLog";
import { MetricsCharts } from "./MetricsCharts";
import { TrainingTabs } from "./TrainingTabs";
import { type EpochMetrics, type TrainingRun, useTrainingRun } from "./useTrainingRun";

const STREAM_WORDS = {
  "catching-up": "Loading the event log…",
  live: "Live",
  reconnecting: "Reconnecting…",
  ended: "Ended",
} as const;

export default function TrainingRunPage() {
  const { jobId = "" } = useParams();
  const run = useTrainingRun(jobId);
  const job = run.job;
  if (!job) {
    return (
      <Page title="Training run">
        <TrainingTabs jobId={jobId} />
        <ErrorMessage error={run.jobError} />
        {run.jobError ? null : <Loading />}
        <Link to="/training">All training jobs</Link>
      </Page>
    );
  }
  const title = job.name ?? `${job.model_name} training`;
  return (
    <Page title={title} actions={<Actions run={run} />}>
      <TrainingTabs jobId={jobId} />
      <Overview run={run} />
      <section className="card" aria-labelledby="curves">
        <h2 id="curves">Curves</h2>
        <MetricsCharts epochs={run.epochs} primaryName={run.primaryName} jobName={title} />
      </section>
      <section className="card" aria-labelledby="events">
        <h2 id="events">Event log</h2>
        <EventLog events={run.events} />
      </section>
    </Page>
  );
}

function Actions({ run }: { run: TrainingRun }) {
  const job = run.job!;
  const path = { training_job_id: job.id };
  const cancel = useAction((api) =>
    api.POST("/api/v1/training/jobs/{training_job_id}/cancel", { params: { path } }),
  );
  const resume = useAction((api) =>
    api.POST("/api/v1/training/jobs/{training_job_id}/resume", { params: { path }, body: {} }),
  );
  const active = !TERMINAL_STATUSES.has(job.status);
  const resumable = !active && job.status !== "completed" && job.last_checkpoint_epoch !== null;
  return (
    <div className="actions">
      <Link to="/training">All training jobs</Link>
      {active ? (
        <button
          type="button"
          className="danger"
          disabled={cancel.pending}
          onClick={async () => {
            if (await cancel.run()) run.reloadJob();
          }}
        >
          Cancel training
        </button>
      ) : null}
      {resumable ? (
        <button
          type="button"
          disabled={resume.pending}
          onClick={async () => {
            if (await resume.run()) {
              run.reloadJob();
              run.follow();
            }
          }}
        >
          Resume from epoch {job.last_checkpoint_epoch}
        </button>
      ) : null}
      <ErrorMessage error={cancel.error ?? resume.error} />
    </div>
  );
}

/** Seconds since `iso`, ticking every second. */
function useAge(iso: string | null): number | null {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [iso]);
  return iso ? Math.max(0, (now - Date.parse(iso)) / 1000) : null;
}

function LastSign({ iso }: { iso: string | null }) {
  const age = useAge(iso);
  return <>{age === null ? "—" : `${formatDuration(age)} ago`}</>;
}

function eta(epochs: EpochMetrics[], epoch: number, total: number): number | null {
  const seconds = epochs
    .map((e) => e.metrics.epoch_seconds)
    .filter((s): s is number => typeof s === "number");
  if (!seconds.length || total <= epoch) return null;
  const mean = seconds.reduce((a, b) => a + b, 0) / seconds.length;
  return mean * (total - epoch);
}

function Overview({ run }: { run: TrainingRun }) {
  const job = run.job!;
  const active = !TERMINAL_STATUSES.has(job.status);
  const progress = run.progress;
  const lost = run.events.filter((e) => e.type === "attempt_lost");
  const remaining = progress ? eta(run.epochs, progress.epoch, progress.total) : null;
  const best =
    job.primary_metric_name && job.best_metrics ? job.best_metrics[job.primary_metric_name] : null;
  return (
    <section className="card" aria-labelledby="overview">
      <h2 id="overview">Overview</h2>
      <div role="status" aria-live="polite" className="status-line">
        <StatusBadge status={job.status} />
        <span>
          Attempt {job.attempt} of {job.max_attempts}
        </span>
        {progress ? (
          <span>
            Epoch {progress.epoch} of {progress.total}
          </span>
        ) : null}
        <span className="muted">Event stream: {STREAM_WORDS[run.stream]}</span>
      </div>
      {progress ? (
        <div className="progress">
          <label htmlFor="training-progress">Progress</label>
          <progress id="training-progress" max={100} value={progress.percent}>
            {Math.round(progress.percent)}%
          </progress>
          <span>{Math.round(progress.percent)}%</span>
        </div>
      ) : null}
      {job.status === "failed" ? (
        <p className="error" role="alert">
          Training failed: {job.error_message ?? "no reason was reported"}
        </p>
      ) : null}
      {lost.length ? (
        <ul className="notice">
          {lost.map((e) => (
            <li key={e.seq}>{describe(e)}</li>
          ))}
        </ul>
      ) : null}
      <ErrorMessage error={run.streamError} />
      <dl className="facts">
        <Fact term="Model">
          {job.framework} / {job.model_name}
        </Fact>
        <Fact term="Dataset">
          <Link to={`/datasets/${job.dataset_id}`}>Open the dataset</Link>
        </Fact>
        <Fact term="Runner">{job.runner ?? "—"}</Fact>
        <Fact term="Last sign of the worker">
          {active ? <LastSign iso={run.lastSign} /> : formatDate(run.lastSign)}
        </Fact>
        <Fact term="Time left (estimate)">
          {active && remaining !== null ? formatDuration(remaining) : "—"}
        </Fact>
        <Fact term={`Best ${job.primary_metric_name ?? "metric"}`}>
          {best !== null && best !== undefined
            ? `${formatMetric(best)} (epoch ${job.best_epoch})`
            : "—"}
        </Fact>
        <Fact term="Started">{formatDate(job.started_at)}</Fact>
        <Fact term="Ended">{formatDate(job.completed_at)}</Fact>
      </dl>
    </section>
  );
}
