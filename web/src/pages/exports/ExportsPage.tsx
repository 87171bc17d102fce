import { Page } from "../../components/Page";

// Placeholder until this screen is built.
export default function ExportsPage() {
  return (
    <Page title="Exports">
      <p className="muted">This screen is not built yet.</p>
    </Page>
  );
}
