import type { Query } from "../../api/hooks";
import type { components } from "../../api/schema";
import { ErrorMessage } from "../../components/ErrorMessage";
import { formatDate } from "../../components/format";
import { Loading } from "../../components/Loading";

type Event = components["schemas"]["DeploymentEvent"];

/** Every lifecycle event, newest first (the API answers oldest first). */
export function History({ history }: { history: Query<Event[]> }) {
  const events = [...(history.data ?? [])].reverse();
  return (
    <section className="card" aria-labelledby="deployment-history">
      <h2 id="deployment-history">History</h2>
      <ErrorMessage error={history.error} />
      {history.loading && !history.data ? <Loading /> : null}
      {events.length ? (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e, i) => (
                <tr key={i}>
                  <td>{formatDate(e.created_at)}</td>
                  <td>{e.event_type.replace(/_/g, " ")}</td>
                  <td>
                    {e.status_before && e.status_before !== e.status_after
                      ? `${e.status_before} → ${e.status_after}`
                      : (e.status_after ?? "—")}
                  </td>
                  <td>{e.message ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
