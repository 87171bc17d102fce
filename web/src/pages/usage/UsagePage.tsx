import { useMemo } from "react";
import { Link } from "react-router";
import { usePagedQuery, useQuery } from "../../api/hooks";
import type { components } from "../../api/schema";
import { DailyUsage, PeriodFilter, usePeriod } from "../../components/DailyUsage";
import { ErrorMessage } from "../../components/ErrorMessage";
import { formatDate } from "../../components/format";
import { LineChart } from "../../components/LineChart";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import { PagedTable } from "../../components/ListTable";

const LIMIT = 50;

export default function UsagePage() {
  return (
    <Page title="API keys and usage" actions={<Link to="/deployments">Deployments</Link>}>
      <ApiKeys />
      <AccountUsage />
    </Page>
  );
}

function ApiKeys() {
  const keys = usePagedQuery(LIMIT, (api, page) =>
    api.GET("/api/v1/deployments/api-keys", { params: { query: page } }),
  );
  return (
    <section className="card" aria-labelledby="api-keys">
      <h2 id="api-keys">API keys</h2>
      <p className="muted">
        A key is shown once, when it is made; here only its prefix. A deployment's "New API key"
        revokes its older keys.
      </p>
      <PagedTable
        query={keys}
        label="API keys"
        page={keys.page}
        empty={
          <>
            No API key yet: <Link to="/deployments">deploy an export</Link> as a platform endpoint.
          </>
        }
        columns={["Prefix", "Deployment", "State", "Created", "Last used"]}
        row={(k) => (
          <tr key={k.id}>
            <td>
              <code>{k.prefix}…</code>
            </td>
            <td>
              {k.deployment_id ? (
                <Link to={`/deployments/${k.deployment_id}`}>
                  {k.deployment_name ?? k.deployment_id}
                </Link>
              ) : (
                "—"
              )}
            </td>
            <td>{k.revoked_at ? `revoked ${formatDate(k.revoked_at)}` : "active"}</td>
            <td>{formatDate(k.created_at)}</td>
            <td>{k.last_used_at ? formatDate(k.last_used_at) : "never"}</td>
          </tr>
        )}
      />
    </section>
  );
}

function AccountUsage() {
  const days = usePeriod();
  const usage = useQuery(
    (api) => api.GET("/api/v1/deployments/usage/daily", { params: { query: { days } } }),
    [days],
  );
  const u = usage.data;
  return (
    <section className="card" aria-labelledby="account-usage">
      <h2 id="account-usage">Calls across your deployments</h2>
      <PeriodFilter onRefresh={usage.reload} />
      <ErrorMessage error={usage.error} />
      {usage.loading && !u ? <Loading what="Loading usage" /> : null}
      {u ? <DailyUsage days={u.days} what="all deployments" /> : null}
      {u && u.deployments.length ? (
        <ByDeployment days={u.days.length} deployments={u.deployments} />
      ) : null}
      {u && u.deployments.length ? (
        <h3 id="calls-by-deployment">Calls by deployment, last {days} days</h3>
      ) : null}
      {u && u.deployments.length ? (
        <div className="table-scroll">
          <table aria-labelledby="calls-by-deployment">
            <thead>
              <tr>
                <th scope="col">Deployment</th>
                <th scope="col">Calls</th>
                <th scope="col">Errors</th>
              </tr>
            </thead>
            <tbody>
              {u.deployments.map((d) => (
                <tr key={d.deployment_id}>
                  <th scope="row">
                    <Link to={`/deployments/${d.deployment_id}`}>{d.name}</Link>
                  </th>
                  <td>{d.calls}</td>
                  <td>{d.errors}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

type Share = components["schemas"]["DeploymentCallsPerDay"];

// More lines than this read as noise; the table below lists every deployment.
const MOST_LINES = 7;

function ByDeployment({ days, deployments }: { days: number; deployments: Share[] }) {
  const x = useMemo(() => Array.from({ length: days }, (_, i) => i - (days - 1)), [days]);
  const series = useMemo(
    () =>
      deployments
        .slice(0, MOST_LINES)
        .map((d) => ({ label: d.name, values: d.calls_per_day })),
    [deployments],
  );
  return (
    <div className="chart-box usage-chart">
      <LineChart title="Calls per day by deployment" x={x} xLabel="Day" series={series} />
    </div>
  );
}
