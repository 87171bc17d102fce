import { Link, NavLink } from "react-router";
import type { ApiError } from "../../api/errors";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import "./TrainingTabs.css";

/** Run, Results and Exports of one training job: each its own URL, the current one
 *  marked (aria-current) by NavLink. */
export function TrainingTabs({ jobId }: { jobId: string }) {
  const base = `/training/${jobId}`;
  return (
    <nav className="training-tabs" aria-label="Training job">
      <ul>
        <li>
          <NavLink to={base} end>
            Run
          </NavLink>
        </li>
        <li>
          <NavLink to={`${base}/results`}>Results</NavLink>
        </li>
        <li>
          <NavLink to={`${base}/exports`}>Exports</NavLink>
        </li>
      </ul>
    </nav>
  );
}

/** A training job's screen before its job has loaded (or when it failed to). */
export function JobNotLoaded({
  title,
  jobId,
  error,
}: {
  title: string;
  jobId: string;
  error: ApiError | null;
}) {
  return (
    <Page title={title}>
      <TrainingTabs jobId={jobId} />
      <ErrorMessage error={error} />
      {error ? null : <Loading />}
      <Link to="/training">All training jobs</Link>
    </Page>
  );
}

/** The links beside a training job's Results and Exports headings. */
export function JobLinks({ job }: { job: { id: string; has_best_checkpoint: boolean } }) {
  return (
    <div className="actions">
      <Link to="/training">All training jobs</Link>
      {job.has_best_checkpoint ? (
        <Link to={`/test-runs?training_job=${job.id}`}>Test this model</Link>
      ) : null}
    </div>
  );
}
