import { Page } from "../../components/Page";

// Placeholder until this screen is built.
export default function WebhookPage() {
  return (
    <Page title="Webhook">
      <p className="muted">This screen is not built yet.</p>
    </Page>
  );
}
