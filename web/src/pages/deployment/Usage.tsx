import { useEffect } from "react";
import { useSearchParams } from "../../api/searchParams";
import { useQuery } from "../../api/hooks";
import { DailyUsage, PERIODS, periodOf } from "../../components/DailyUsage";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Loading } from "../../components/Loading";
import { SelectField } from "../../components/SelectField";

/** The deployment's calls, errors and latency per UTC day; the period is in the URL. */
export function Usage({ deploymentId, calls = 0 }: { deploymentId: string; calls?: number }) {
  const [params, setParams] = useSearchParams();
  const days = periodOf(params);
  const usage = useQuery(
    (api) =>
      api.GET("/v1/deployments/{deployment_id}/usage/daily", {
        params: { path: { deployment_id: deploymentId }, query: { days } },
      }),
    [deploymentId, days],
  );
  const { reload } = usage;
  useEffect(() => {
    if (calls) reload(); // read again after each try-it call, keeping what is shown
  }, [calls, reload]);
  return (
    <section className="card" aria-labelledby="deployment-usage">
      <h2 id="deployment-usage">Usage</h2>
      <div className="filters">
        <SelectField
          label="Period"
          value={String(days)}
          onChange={(e) => {
            const next = new URLSearchParams(params);
            next.set("days", e.target.value);
            setParams(next);
          }}
        >
          {PERIODS.map((p) => (
            <option key={p} value={p}>
              Last {p} days
            </option>
          ))}
        </SelectField>
        <button type="button" className="secondary small" onClick={usage.reload}>
          Refresh usage
        </button>
      </div>
      <ErrorMessage error={usage.error} />
      {usage.loading && !usage.data ? <Loading what="Loading usage" /> : null}
      {usage.data ? <DailyUsage days={usage.data.days} what="this deployment" /> : null}
    </section>
  );
}
