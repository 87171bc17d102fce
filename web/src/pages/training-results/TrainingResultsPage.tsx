import { Page } from "../../components/Page";

// Placeholder until this screen is built.
export default function TrainingResultsPage() {
  return (
    <Page title="Training results">
      <p className="muted">This screen is not built yet.</p>
    </Page>
  );
}
