import { Link } from "react-router";
import { useOffset } from "../../api/searchParams";
import { useQuery } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { formatDate } from "../../components/format";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import { Pager } from "../../components/Pager";
import { StatusBadge } from "../../components/StatusBadge";
import { CreateDeploymentForm } from "./CreateDeploymentForm";
import { STRATEGY_NAMES } from "./strategies";

const LIMIT = 20;

export default function DeploymentsPage() {
  const [offset, setOffset] = useOffset();
  const deployments = useQuery(
    (api) => api.GET("/api/v1/deployments", { params: { query: { limit: LIMIT, offset } } }),
    [offset],
  );
  const items = deployments.data?.items ?? [];
  return (
    <Page title="Deployments" actions={<Link to="/usage">API keys and usage</Link>}>
      <CreateDeploymentForm onCreated={() => deployments.reload()} />
      <section aria-labelledby="deployments-list">
        <h2 id="deployments-list">Your deployments</h2>
        <ErrorMessage error={deployments.error} />
        {deployments.loading && !deployments.data ? <Loading /> : null}
        {deployments.data && !items.length ? <p className="muted">No deployment yet.</p> : null}
        {items.length ? (
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Strategy</th>
                  <th scope="col">Status</th>
                  <th scope="col">Tier</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last called</th>
                </tr>
              </thead>
              <tbody>
                {items.map((d) => (
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
                    <td>
                      {d.strategy === "platform_endpoint" ? formatDate(d.last_accessed_at) : "—"}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        {deployments.data ? (
          <Pager
            label="Deployments"
            total={deployments.data.total}
            limit={LIMIT}
            offset={offset}
            onOffset={setOffset}
          />
        ) : null}
      </section>
    </Page>
  );
}
