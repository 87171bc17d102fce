// A training job's exports, newest version first, kept current every 2 s while one is
// still on its way; and the form that starts another.
import { useEffect } from "react";
import { useParams } from "react-router";
import { TERMINAL_STATUSES } from "../../api/events";
import { useQuery } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import { JobLinks, JobNotLoaded, TrainingTabs } from "../training-run/TrainingTabs";
import { ExportForm } from "./ExportForm";
import { ExportItem } from "./ExportItem";
import "./exports.css";

const POLL_MS = 2000;

export default function ExportsPage() {
  const { jobId = "" } = useParams();
  const path = { training_job_id: jobId };
  const job = useQuery((api) => api.GET("/api/v1/training/jobs/{training_job_id}", { params: { path } }), [jobId]);
  const exports = useQuery(
    (api) => api.GET("/api/v1/training/jobs/{training_job_id}/exports", { params: { path } }),
    [jobId],
  );
  const { reload } = exports;
  const waiting = (exports.data ?? []).some((e) => !TERMINAL_STATUSES.has(e.status));
  useEffect(() => {
    if (!waiting) return;
    const timer = setInterval(reload, POLL_MS);
    return () => clearInterval(timer);
  }, [waiting, reload]);

  const j = job.data;
  if (!j) {
    return <JobNotLoaded title="Exports" jobId={jobId} error={job.error} />;
  }
  const name = j.name ?? `${j.model_name} training`;
  return (
    <Page
      title={`Exports: ${name}`}
      actions={<JobLinks job={j} />}
    >
      <TrainingTabs jobId={jobId} />
      <section className="card" aria-labelledby="new-export">
        <h2 id="new-export">New export</h2>
        {j.has_best_checkpoint ? (
          <ExportForm trainingJobId={j.id} framework={j.framework} onStarted={reload} />
        ) : (
          <p className="muted">
            {j.status === "failed"
              ? `Training failed (${j.error_message ?? "no reason was reported"}) before it saved a checkpoint to export.`
              : "An export starts from a checkpoint; this job has not saved one yet."}
          </p>
        )}
      </section>
      <section aria-labelledby="export-list">
        <h2 id="export-list">Versions</h2>
        <ErrorMessage error={exports.error} />
        {exports.data ? (
          exports.data.length ? (
            <ul className="export-list" aria-label="Exports">
              {exports.data.map((e) => (
                <ExportItem key={e.id} job={e} onChanged={reload} />
              ))}
            </ul>
          ) : (
            <p className="muted">No exports yet.</p>
          )
        ) : exports.error ? null : (
          <Loading />
        )}
      </section>
    </Page>
  );
}
