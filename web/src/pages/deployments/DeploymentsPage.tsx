import { Page } from "../../components/Page";

// Placeholder until this screen is built.
export default function DeploymentsPage() {
  return (
    <Page title="Deployments">
      <p className="muted">This screen is not built yet.</p>
    </Page>
  );
}
