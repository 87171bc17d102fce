import { Page } from "../../components/Page";

// Placeholder until this screen is built.
export default function TestRunPage() {
  return (
    <Page title="Test run">
      <p className="muted">This screen is not built yet.</p>
    </Page>
  );
}
