import { useQuery } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Loading } from "../../components/Loading";

/** Download links of the best and the last checkpoint, signed and expiring: asked for
 *  when the section shows (and again with `version`, when a new epoch saved one). */
export function Checkpoints({ jobId, version }: { jobId: string; version: string }) {
  const links = useQuery(
    (api) =>
      api.GET("/api/v1/training/jobs/{training_job_id}/checkpoints", {
        params: { path: { training_job_id: jobId } },
      }),
    [jobId, version],
  );
  const c = links.data;
  return (
    <section className="card" aria-labelledby="checkpoints">
      <h2 id="checkpoints">Checkpoints</h2>
      <ErrorMessage error={links.error} />
      {!c && links.loading ? <Loading /> : null}
      {c ? (
        c.best || c.last ? (
          <ul className="plain-list">
            {c.best ? (
              <li>
                <a href={c.best} download>
                  Download the best checkpoint (epoch {c.best_epoch ?? "—"})
                </a>
              </li>
            ) : null}
            {c.last ? (
              <li>
                <a href={c.last} download>
                  Download the last checkpoint (epoch {c.last_epoch ?? "—"})
                </a>
              </li>
            ) : null}
            <li className="muted">
              The links expire in {Math.round(c.expires_in / 60)} minutes; reload the page for new
              ones.
            </li>
          </ul>
        ) : (
          <p className="muted">No checkpoint has been saved yet.</p>
        )
      ) : null}
    </section>
  );
}
