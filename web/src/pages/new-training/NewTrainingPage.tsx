import { Page } from "../../components/Page";

// Placeholder until this screen is built.
export default function NewTrainingPage() {
  return (
    <Page title="New training">
      <p className="muted">This screen is not built yet.</p>
    </Page>
  );
}
