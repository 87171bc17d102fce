import { Link } from "react-router";
import { useSearchParams } from "../../api/searchParams";
import { useQuery } from "../../api/hooks";
import type { components, operations } from "../../api/schema";
import { ErrorMessage } from "../../components/ErrorMessage";
import { formatDate } from "../../components/format";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import { Pager } from "../../components/Pager";
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
  const update = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [name, value] of Object.entries(changes)) {
      if (value) next.set(name, value);
      else next.delete(name);
    }
    setParams(next);
  };
  const items = runs.data?.items ?? [];
  return (
    <Page title="Test runs">
      <StartTestRunForm />
      <section aria-labelledby="test-runs-list">
        <h2 id="test-runs-list">Your test runs</h2>
        <div className="field inline-field">
          <label htmlFor="test-runs-status">Status</label>
          <select
            id="test-runs-status"
            value={status ?? ""}
            onChange={(e) => update({ status: e.target.value || null, offset: null })}
          >
            <option value="">All statuses</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <ErrorMessage error={runs.error} />
        {runs.loading && !runs.data ? <Loading /> : null}
        {runs.data && !items.length ? (
          <p className="muted">{status ? `No ${status} test run.` : "No test run yet."}</p>
        ) : null}
        {items.length ? (
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Test run</th>
                  <th scope="col">Status</th>
                  <th scope="col">Images</th>
                  <th scope="col">Grad-CAM</th>
                  <th scope="col">Started</th>
                </tr>
              </thead>
              <tbody>
                {items.map((run) => (
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
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        {runs.data ? (
          <Pager
            label="Test runs"
            total={runs.data.total}
            limit={LIMIT}
            offset={offset}
            onOffset={(next) => update({ offset: next ? String(next) : null })}
          />
        ) : null}
      </section>
    </Page>
  );
}

function describe(run: TestRun): string {
  const model = String(run.config.model_name ?? run.framework);
  const split = typeof run.config.split === "string" ? ` on ${run.config.split}` : "";
  return `${model}${split}, ${formatDate(run.created_at)}`;
}
