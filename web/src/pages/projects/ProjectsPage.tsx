import { Page } from "../../components/Page";

// Placeholder until this screen is built.
export default function ProjectsPage() {
  return (
    <Page title="Projects">
      <p className="muted">This screen is not built yet.</p>
    </Page>
  );
}
