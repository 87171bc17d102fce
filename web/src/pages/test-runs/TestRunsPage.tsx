import { Page } from "../../components/Page";

// Placeholder until this screen is built.
export default function TestRunsPage() {
  return (
    <Page title="Test runs">
      <p className="muted">This screen is not built yet.</p>
    </Page>
  );
}
