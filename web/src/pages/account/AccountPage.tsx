import { Link } from "react-router";
import { useQuery } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Fact } from "../../components/Fact";
import { formatDate } from "../../components/format";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import "./account.css";
import { PasswordForm } from "./PasswordForm";
import { ProfileForm } from "./ProfileForm";

export default function AccountPage() {
  const me = useQuery((api) => api.GET("/api/v1/auth/me"), []);
  const user = me.data;
  return (
    <Page title="Account">
      <ErrorMessage error={me.error} />
      {me.loading && !user ? <Loading /> : null}
      {user ? (
        <section className="card" aria-labelledby="you">
          <h2 id="you">You</h2>
          <dl className="facts">
            <Fact term="Email">{user.email}</Fact>
            <Fact term="Role">{user.role}</Fact>
            <Fact term="Member since">{formatDate(user.created_at)}</Fact>
            <Fact term="Name">{user.full_name ?? "—"}</Fact>
            <Fact term="Company">{user.company ?? "—"}</Fact>
            <Fact term="Department">{user.department ?? "—"}</Fact>
          </dl>
        </section>
      ) : null}
      <nav className="card" aria-labelledby="settings">
        <h2 id="settings">Settings</h2>
        <ul className="settings-links">
          <li>
            <Link to="/webhooks">Webhooks</Link>
            <span className="muted"> — where job and dataset events are sent, and their log</span>
          </li>
          <li>
            <Link to="/weights">Pretrained weights</Link>
            <span className="muted"> — your weights files, for training to start from</span>
          </li>
          <li>
            <Link to="/projects">Projects</Link>
            <span className="muted"> — workspaces grouping datasets and training jobs</span>
          </li>
        </ul>
      </nav>
      {user ? <ProfileForm user={user} onSaved={me.reload} /> : null}
      <PasswordForm />
    </Page>
  );
}
