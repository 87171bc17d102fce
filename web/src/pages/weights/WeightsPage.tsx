import { Page } from "../../components/Page";

// Placeholder until this screen is built.
export default function WeightsPage() {
  return (
    <Page title="Pretrained weights">
      <p className="muted">This screen is not built yet.</p>
    </Page>
  );
}
