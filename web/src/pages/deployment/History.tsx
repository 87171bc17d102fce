import type { Query } from "../../api/hooks";
import type { components } from "../../api/schema";
import { formatDate } from "../../components/format";
import { ListTable } from "../../components/ListTable";

type Event = components["schemas"]["DeploymentEvent"];

/** Every lifecycle event, newest first (the API answers oldest first). */
export function History({ history }: { history: Query<Event[]> }) {
  const events = [...(history.data ?? [])].reverse();
  return (
    <section className="card" aria-labelledby="deployment-history">
      <h2 id="deployment-history">History</h2>
      <ListTable
        query={history}
        items={events}
        columns={["When", "Event", "Status", "Message"]}
        row={(e, i) => (
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
        )}
      />
    </section>
  );
}
