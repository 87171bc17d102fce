import { Link } from "react-router";
import { useSearchParams } from "../../api/searchParams";
import { useQuery } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { formatDate, formatMetric } from "../../components/format";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import { Pager } from "../../components/Pager";
import { StatusBadge } from "../../components/StatusBadge";

const LIMIT = 20;
const STATUSES = ["pending", "queued", "running", "completed", "failed", "cancelled"];

export default function TrainingJobsPage() {
  const [params, setParams] = useSearchParams();
  const offset = Number(params.get("offset") ?? 0) || 0;
  const status = params.get("status") ?? "";
  const jobs = useQuery(
    (api) =>
      api.GET("/api/v1/training/jobs", {
        params: { query: { limit: LIMIT, offset, status: status || null } },
      }),
    [offset, status],
  );
  const items = jobs.data?.items ?? [];
  return (
    <Page title="Training jobs" actions={<Link to="/training/new">New training</Link>}>
      <div className="field inline-field">
        <label htmlFor="status-filter">Status</label>
        <select
          id="status-filter"
          value={status}
          onChange={(e) => setParams(e.target.value ? { status: e.target.value } : {})}
        >
          <option value="">Any</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <ErrorMessage error={jobs.error} />
      {jobs.loading && !jobs.data ? <Loading /> : null}
      {jobs.data && !items.length ? <p className="muted">No training job here.</p> : null}
      {items.length ? (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Status</th>
                <th scope="col">Model</th>
                <th scope="col">Epoch</th>
                <th scope="col">Best</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {items.map((j) => {
                const best =
                  j.primary_metric_name && j.best_metrics
                    ? j.best_metrics[j.primary_metric_name]
                    : undefined;
                return (
                  <tr key={j.id}>
                    <td>
                      <Link to={`/training/${j.id}`}>{j.name ?? `${j.model_name} training`}</Link>
                    </td>
                    <td>
                      <StatusBadge status={j.status} />
                    </td>
                    <td>
                      {j.framework} / {j.model_name}
                    </td>
                    <td>
                      {j.current_epoch}/{j.total_epochs}
                    </td>
                    <td>
                      {best !== undefined ? `${j.primary_metric_name} ${formatMetric(best)}` : "—"}
                    </td>
                    <td>{formatDate(j.created_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      {jobs.data ? (
        <Pager
          label="Training jobs"
          total={jobs.data.total}
          limit={LIMIT}
          offset={offset}
          onOffset={(next) => {
            const query: Record<string, string> = status ? { status } : {};
            if (next) query.offset = String(next);
            setParams(query);
          }}
        />
      ) : null}
    </Page>
  );
}
