import { useEffect } from "react";
import { useAction, usePagedQuery } from "../../api/hooks";
import { PagedTable } from "../../components/ListTable";
import { StatusBadge } from "../../components/StatusBadge";

const LIMIT = 20;
// The API's sender runs every few seconds: a pending delivery is re-read until it ends.
const POLL_MS = 2000;
const WAIT_MS = 60_000;

// Retries are seconds apart: a log reads to the second.
function formatSecond(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/** Every delivery to the webhook, newest first, and a ping to test the receiver. */
export function Deliveries({ webhookId }: { webhookId: string }) {
  const path = { webhook_id: webhookId };
  const deliveries = usePagedQuery(
    LIMIT,
    (api, page) =>
      api.GET("/api/v1/webhooks/{webhook_id}/deliveries", { params: { path, query: page } }),
    [webhookId],
  );
  const ping = useAction((api) =>
    api.POST("/api/v1/webhooks/{webhook_id}/ping", { params: { path } }),
  );
  const items = deliveries.data?.items ?? [];
  // A retry hours away is not waited for here (Refresh the log reads it then).
  const pending = items.some(
    (d) =>
      d.status === "pending" &&
      (!d.next_attempt_at || Date.parse(d.next_attempt_at) - Date.now() < WAIT_MS),
  );
  const { reload } = deliveries;
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(reload, POLL_MS);
    return () => clearInterval(timer);
  }, [pending, reload]);

  return (
    <section className="card" aria-labelledby="deliveries">
      <h2 id="deliveries">Deliveries</h2>
      <div className="actions">
        <button
          type="button"
          disabled={ping.pending}
          onClick={async () => {
            if (await ping.run()) {
              if (deliveries.page.offset) deliveries.page.onOffset(0);
              reload();
            }
          }}
        >
          Send a test ping
        </button>
        <button type="button" className="secondary" onClick={reload}>
          Refresh the log
        </button>
        {pending ? (
          <span className="muted" role="status">
            Waiting for the sender…
          </span>
        ) : null}
      </div>
      <PagedTable
        query={deliveries}
        error={ping.error ?? deliveries.error}
        label="Deliveries"
        page={deliveries.page}
        empty="Nothing sent yet. A test ping checks the receiver."
        table={{ "aria-label": "Delivery log" }}
        columns={["Time", "Event", "Status", "Answer", "Attempts", "Took", "Error"]}
        row={(d) => (
          <tr key={d.id}>
            <td>{formatSecond(d.created_at)}</td>
            <td>{d.event_type}</td>
            <td>
              <StatusBadge status={d.status} />
            </td>
            <td>{d.last_status_code ?? "—"}</td>
            <td>{d.attempts}</td>
            <td>{d.last_response_ms === null ? "—" : `${Math.round(d.last_response_ms)} ms`}</td>
            <td className="wrap-anywhere">
              {d.last_error ?? "—"}
              {d.status === "pending" && d.next_attempt_at && d.attempts ? (
                <div className="muted">Next try {formatSecond(d.next_attempt_at)}</div>
              ) : null}
            </td>
          </tr>
        )}
      />
    </section>
  );
}
