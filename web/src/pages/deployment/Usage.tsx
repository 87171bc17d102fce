import { useEffect } from "react";
import { useQuery } from "../../api/hooks";
import { DailyUsage, PeriodFilter, usePeriod } from "../../components/DailyUsage";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Loading } from "../../components/Loading";

/** The deployment's calls, errors and latency per UTC day; the period is in the URL. */
export function Usage({ deploymentId, calls = 0 }: { deploymentId: string; calls?: number }) {
  const days = usePeriod();
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
      <PeriodFilter onRefresh={usage.reload} />
      <ErrorMessage error={usage.error} />
      {usage.loading && !usage.data ? <Loading what="Loading usage" /> : null}
      {usage.data ? <DailyUsage days={usage.data.days} what="this deployment" /> : null}
    </section>
  );
}
