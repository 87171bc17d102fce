import { Link } from "react-router";
import { usePagedQuery } from "../../api/hooks";
import { formatDate } from "../../components/format";
import { Page } from "../../components/Page";
import { PagedTable } from "../../components/ListTable";
import { StatusBadge } from "../../components/StatusBadge";
import { CreateWebhook } from "./CreateWebhook";
import "./webhooks.css";

const LIMIT = 20;

export default function WebhooksPage() {
  const hooks = usePagedQuery(LIMIT, (api, page) =>
    api.GET("/api/v1/webhooks", { params: { query: page } }),
  );
  return (
    <Page title="Webhooks" actions={<Link to="/account">Account</Link>}>
      <p className="muted">
        Each event is POSTed as JSON to your URL, signed with the webhook's secret in the{" "}
        <code>X-VAP-Signature</code> header; a failed delivery is retried with backoff.
      </p>
      <CreateWebhook onCreated={hooks.reload} />
      <section aria-labelledby="webhooks-list">
        <h2 id="webhooks-list">Your webhooks</h2>
        <PagedTable
          query={hooks}
          label="Webhooks"
          page={hooks.page}
          empty="No webhook yet."
          columns={["URL", "Events", "State", "Created"]}
          row={(h) => (
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
          )}
        />
      </section>
    </Page>
  );
}
