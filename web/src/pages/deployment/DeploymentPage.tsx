import { useState } from "react";
import { Link, useParams } from "react-router";
import { useQuery } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Fact } from "../../components/Fact";
import { formatDate } from "../../components/format";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import { StatusBadge } from "../../components/StatusBadge";
import { STRATEGY_NAMES } from "../deployments/strategies";
import { Actions } from "./Actions";
import "./DeploymentPage.css";
import { History } from "./History";
import { useShownKey } from "./shownKeys";
import { Snippets } from "./Snippets";
import { TryIt } from "./TryIt";
import { Usage } from "./Usage";

export default function DeploymentPage() {
  const { deploymentId = "" } = useParams();
  const deployment = useQuery(
    (api) =>
      api.GET("/api/v1/deployments/{deployment_id}", {
        params: { path: { deployment_id: deploymentId } },
      }),
    [deploymentId],
  );
  const history = useQuery(
    (api) =>
      api.GET("/api/v1/deployments/{deployment_id}/history", {
        params: { path: { deployment_id: deploymentId } },
      }),
    [deploymentId],
  );
  const shownKey = useShownKey(deploymentId);
  const [calls, setCalls] = useState(0);
  const d = deployment.data;
  if (!d) {
    return (
      <Page title="Deployment">
        <ErrorMessage error={deployment.error} />
        {deployment.loading ? <Loading /> : null}
        <Link to="/deployments">All deployments</Link>
      </Page>
    );
  }
  const endpoint = d.strategy === "platform_endpoint";
  const called = () => {
    setCalls((n) => n + 1);
    deployment.reload();
  };
  const changed = () => {
    deployment.reload();
    history.reload();
  };
  return (
    <Page title={d.name} actions={<Link to="/deployments">All deployments</Link>}>
      <section className="card" aria-labelledby="deployment-overview">
        <h2 id="deployment-overview">Overview</h2>
        <dl className="facts">
          <Fact term="Status">
            <StatusBadge status={d.status} />
          </Fact>
          <Fact term="Strategy">{STRATEGY_NAMES[d.strategy] ?? d.strategy}</Fact>
          <Fact term="Tier">{d.tier}</Fact>
          {endpoint ? (
            <Fact term="API key">{d.api_key_prefix ? `${d.api_key_prefix}…` : "none"}</Fact>
          ) : null}
          <Fact term="Created">{formatDate(d.created_at)}</Fact>
          <Fact term="Deployed">{formatDate(d.deployed_at)}</Fact>
          {endpoint ? <Fact term="Last called">{formatDate(d.last_accessed_at)}</Fact> : null}
        </dl>
        {d.endpoint_url ? (
          <p className="endpoint-url">
            Endpoint: <code>POST {d.endpoint_url}</code>
          </p>
        ) : null}
        {d.description ? <p>{d.description}</p> : null}
        <Actions deployment={d} onChanged={changed} />
      </section>
      {endpoint && d.endpoint_url ? <Snippets url={d.endpoint_url} apiKey={shownKey} /> : null}
      {endpoint ? <TryIt deploymentId={d.id} shownKey={shownKey} onCalled={called} /> : null}
      {endpoint ? <Usage deploymentId={d.id} calls={calls} /> : null}
      <History history={history} />
    </Page>
  );
}
