import { Page } from "../../components/Page";

// Placeholder until this screen is built.
export default function UsagePage() {
  return (
    <Page title="API keys and usage">
      <p className="muted">This screen is not built yet.</p>
    </Page>
  );
}
