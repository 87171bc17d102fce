import { Link } from "react-router";
import { useSearchParams } from "../../api/searchParams";
import { useQuery } from "../../api/hooks";
import { FilterSelect } from "../../components/FilterSelect";
import { formatDate, formatMetric } from "../../components/format";
import { Page } from "../../components/Page";
import { PagedTable } from "../../components/ListTable";
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
  return (
    <Page title="Training jobs" actions={<Link to="/training/new">New training</Link>}>
      <FilterSelect
        label="Status"
        value={status}
        onChange={(value) => setParams(value ? { status: value } : {})}
        options={STATUSES}
      />
      <PagedTable
        query={jobs}
        label="Training jobs"
        page={{
          limit: LIMIT,
          offset,
          onOffset: (next) => {
            const query: Record<string, string> = status ? { status } : {};
            if (next) query.offset = String(next);
            setParams(query);
          },
        }}
        empty="No training job here."
        columns={["Job", "Status", "Model", "Epoch", "Best", "Created"]}
        row={(j) => {
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
              <td>{best !== undefined ? `${j.primary_metric_name} ${formatMetric(best)}` : "—"}</td>
              <td>{formatDate(j.created_at)}</td>
            </tr>
          );
        }}
      />
    </Page>
  );
}
