import { Page } from "../../components/Page";

// Placeholder until this screen is built.
export default function DeploymentPage() {
  return (
    <Page title="Deployment">
      <p className="muted">This screen is not built yet.</p>
    </Page>
  );
}
