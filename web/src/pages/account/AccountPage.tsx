import { Page } from "../../components/Page";

// Placeholder until this screen is built.
export default function AccountPage() {
  return (
    <Page title="Account">
      <p className="muted">This screen is not built yet.</p>
    </Page>
  );
}
