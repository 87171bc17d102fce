import { Link } from "react-router";
import { useSearchParams, withChanges } from "../../api/searchParams";
import { useQuery } from "../../api/hooks";
import type { components, operations } from "../../api/schema";
import { FilterSelect } from "../../components/FilterSelect";
import { formatDate } from "../../components/format";
import { Page } from "../../components/Page";
import { PagedTable } from "../../components/ListTable";
import { StatusBadge } from "../../components/StatusBadge";
import { StartTestRunForm } from "./StartTestRunForm";
import "./TestRunsPage.css";

type Status = NonNullable<
  NonNullable<operations["list_test_runs_api_v1_test_runs_get"]["parameters"]["query"]>["status"]
>;
type TestRun = components["schemas"]["TestRunRead"];

const STATUSES: Status[] = ["pending", "queued", "running", "completed", "failed", "cancelled"];
const LIMIT = 20;

export default function TestRunsPage() {
  const [params, setParams] = useSearchParams();
  const offset = Number(params.get("offset") ?? 0) || 0;
  const status = (STATUSES as string[]).includes(params.get("status") ?? "")
    ? (params.get("status") as Status)
    : null;
  const runs = useQuery(
    (api) => api.GET("/api/v1/test-runs", { params: { query: { limit: LIMIT, offset, status } } }),
    [offset, status],
  );
  const update = (changes: Record<string, string | null>) =>
    setParams(withChanges(params, changes));
  return (
    <Page title="Test runs">
      <StartTestRunForm />
      <section aria-labelledby="test-runs-list">
        <h2 id="test-runs-list">Your test runs</h2>
        <FilterSelect
          label="Status"
          value={status ?? ""}
          onChange={(value) => update({ status: value || null, offset: null })}
          options={STATUSES}
          any="All statuses"
        />
        <PagedTable
          query={runs}
          label="Test runs"
          page={{
            limit: LIMIT,
            offset,
            onOffset: (next) => update({ offset: next ? String(next) : null }),
          }}
          empty={status ? `No ${status} test run.` : "No test run yet."}
          columns={["Test run", "Status", "Images", "Grad-CAM", "Started"]}
          row={(run) => (
            <tr key={run.id}>
              <td>
                <Link to={`/test-runs/${run.id}`}>{describe(run)}</Link>
              </td>
              <td>
                <StatusBadge status={run.status} />
                {run.status === "failed" && run.error_message ? (
                  <div className="error test-runs-reason">{run.error_message}</div>
                ) : null}
              </td>
              <td>{run.processed_images}</td>
              <td>{run.enable_xai ? "yes" : "no"}</td>
              <td>{formatDate(run.started_at ?? run.created_at)}</td>
            </tr>
          )}
        />
      </section>
    </Page>
  );
}

function describe(run: TestRun): string {
  const model = String(run.config.model_name ?? run.framework);
  const split = typeof run.config.split === "string" ? ` on ${run.config.split}` : "";
  return `${model}${split}, ${formatDate(run.created_at)}`;
}
