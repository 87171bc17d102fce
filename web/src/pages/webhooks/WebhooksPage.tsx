import { Page } from "../../components/Page";

// Placeholder until this screen is built.
export default function WebhooksPage() {
  return (
    <Page title="Webhooks">
      <p className="muted">This screen is not built yet.</p>
    </Page>
  );
}
