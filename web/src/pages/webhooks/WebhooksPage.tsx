import { Link } from "react-router";
import { useOffset } from "../../api/searchParams";
import { useQuery } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { formatDate } from "../../components/format";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import { Pager } from "../../components/Pager";
import { StatusBadge } from "../../components/StatusBadge";
import { CreateWebhook } from "./CreateWebhook";
import "./webhooks.css";

const LIMIT = 20;

export default function WebhooksPage() {
  const [offset, setOffset] = useOffset();
  const hooks = useQuery(
    (api) => api.GET("/api/v1/webhooks", { params: { query: { limit: LIMIT, offset } } }),
    [offset],
  );
  const items = hooks.data?.items ?? [];
  return (
    <Page title="Webhooks" actions={<Link to="/account">Account</Link>}>
      <p className="muted">
        Each event is POSTed as JSON to your URL, signed with the webhook's secret in the{" "}
        <code>X-VAP-Signature</code> header; a failed delivery is retried with backoff.
      </p>
      <CreateWebhook onCreated={hooks.reload} />
      <section aria-labelledby="webhooks-list">
        <h2 id="webhooks-list">Your webhooks</h2>
        <ErrorMessage error={hooks.error} />
        {hooks.loading && !hooks.data ? <Loading /> : null}
        {hooks.data && !items.length ? <p className="muted">No webhook yet.</p> : null}
        {items.length ? (
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">URL</th>
                  <th scope="col">Events</th>
                  <th scope="col">State</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {items.map((h) => (
                  <tr key={h.id}>
                    <td className="wrap-anywhere">
                      <Link to={`/webhooks/${h.id}`}>{h.url}</Link>
                      {h.description ? <div className="muted">{h.description}</div> : null}
                    </td>
                    <td>{h.event_types.join(", ")}</td>
                    <td>
                      <StatusBadge status={h.is_active ? "active" : "disabled"} />
                    </td>
                    <td>{formatDate(h.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        {hooks.data ? (
          <Pager
            label="Webhooks"
            total={hooks.data.total}
            limit={LIMIT}
            offset={offset}
            onOffset={setOffset}
          />
        ) : null}
      </section>
    </Page>
  );
}
