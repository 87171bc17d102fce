import { Link } from "react-router";
import { Page } from "../../components/Page";

export default function NotFoundPage() {
  return (
    <Page title="Page not found">
      <p>
        Nothing lives at this address. <Link to="/">Go to the home page</Link>.
      </p>
    </Page>
  );
}
