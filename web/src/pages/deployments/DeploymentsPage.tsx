import { Link } from "react-router";
import { usePagedQuery } from "../../api/hooks";
import { formatDate } from "../../components/format";
import { Page } from "../../components/Page";
import { PagedTable } from "../../components/ListTable";
import { StatusBadge } from "../../components/StatusBadge";
import { CreateDeploymentForm } from "./CreateDeploymentForm";
import { STRATEGY_NAMES } from "./strategies";

const LIMIT = 20;

export default function DeploymentsPage() {
  const deployments = usePagedQuery(LIMIT, (api, page) =>
    api.GET("/api/v1/deployments", { params: { query: page } }),
  );
  return (
    <Page title="Deployments" actions={<Link to="/usage">API keys and usage</Link>}>
      <CreateDeploymentForm onCreated={() => deployments.reload()} />
      <section aria-labelledby="deployments-list">
        <h2 id="deployments-list">Your deployments</h2>
        <PagedTable
          query={deployments}
          label="Deployments"
          page={deployments.page}
          empty="No deployment yet."
          columns={["Name", "Strategy", "Status", "Tier", "Created", "Last called"]}
          row={(d) => (
            <tr key={d.id}>
              <td>
                <Link to={`/deployments/${d.id}`}>{d.name}</Link>
              </td>
              <td>{STRATEGY_NAMES[d.strategy] ?? d.strategy}</td>
              <td>
                <StatusBadge status={d.status} />
              </td>
              <td>{d.tier}</td>
              <td>{formatDate(d.created_at)}</td>
              <td>{d.strategy === "platform_endpoint" ? formatDate(d.last_accessed_at) : "—"}</td>
            </tr>
          )}
        />
      </section>
    </Page>
  );
}
