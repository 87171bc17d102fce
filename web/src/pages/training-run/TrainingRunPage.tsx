import { useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import { TERMINAL_STATUSES } from "../../api/events";
import { useAction } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Fact } from "../../components/Fact";
import { Field } from "../../components/Field";
import { formatDate, formatDuration, formatMetric } from "../../components/format";
import { Page } from "../../components/Page";
import { StatusBadge } from "../../components/StatusBadge";
import { attemptStarts, tellAttempt } from "./attemptStory";
import { describe, EventLog } from "./EventLog";
import { MetricsCharts } from "./MetricsCharts";
import "./TrainingRun.css";
import { JobNotLoaded, TrainingTabs } from "./TrainingTabs";
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
    return <JobNotLoaded title="Training run" jobId={jobId} error={run.jobError} />;
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
  const active = !TERMINAL_STATUSES.has(job.status);
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
      <ErrorMessage error={cancel.error} />
    </div>
  );
}

/** An ended job runs again from its last checkpoint: a failed or cancelled one to its
 *  own epochs, or any one further (the API refuses a target the checkpoint already
 *  holds, so a completed job needs more epochs). */
function ResumeForm({ run }: { run: TrainingRun }) {
  const job = run.job!;
  const from = job.last_checkpoint_epoch ?? 0;
  const [epochs, setEpochs] = useState(() => String(Math.max(job.total_epochs, from + 1)));
  const resume = useAction((api, target: number) =>
    api.POST("/api/v1/training/jobs/{training_job_id}/resume", {
      params: { path: { training_job_id: job.id } },
      body: { epochs: target },
    }),
  );
  return (
    <form
      className="resume-form"
      aria-label="Resume training"
      onSubmit={async (event) => {
        event.preventDefault();
        if (await resume.run(Number(epochs))) {
          run.reloadJob();
          run.follow();
        }
      }}
    >
      <Field
        label="Train to epoch"
        type="number"
        inputMode="numeric"
        min={1}
        required
        value={epochs}
        onChange={(e) => setEpochs(e.target.value)}
        error={resume.error?.fieldErrors.epochs}
      />
      <button type="submit" disabled={resume.pending}>
        Resume from epoch {from}
      </button>
      <ErrorMessage error={resume.error} besideFields={["epochs"]} />
    </form>
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
  const story = attemptHistory(run);
  const resumable = !active && job.last_checkpoint_epoch !== null;
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
      {story.length ? (
        <ul className="notice" aria-label="Attempts">
          {story.map((line) => (
            <li key={line.seq}>{line.text}</li>
          ))}
        </ul>
      ) : null}
      {resumable ? <ResumeForm key={`${job.status}-${job.attempt}`} run={run} /> : null}
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

/** Each lost attempt and how the next one began, in the order they happened. */
function attemptHistory(run: TrainingRun): Array<{ seq: number; text: string }> {
  const lost = run.events
    .filter((e) => e.type === "attempt_lost")
    .map((e) => ({ seq: e.seq, text: describe(e) }));
  const started = attemptStarts(run.events).flatMap((s) => {
    const text = tellAttempt(s);
    return text ? [{ seq: s.seq, text }] : [];
  });
  return [...lost, ...started].sort((a, b) => a.seq - b.seq);
}
