import { type FormEvent, useState } from "react";
import { Link, Navigate, useNavigate } from "react-router";
import { useSearchParams } from "../../api/searchParams";
import { requestToken } from "../../api/auth";
import { useAction } from "../../api/hooks";
import { signIn, useSignedIn } from "../../api/session";
import { FormEnd } from "../../components/FormEnd";
import { Field } from "../../components/Field";
import { Page } from "../../components/Page";
import { nextPath } from "../../components/RequireAuth";

export default function SignInPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const signedIn = useSignedIn();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const login = useAction(requestToken);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const token = await login.run(email, password);
    if (token) {
      signIn(token.access_token);
      navigate(nextPath(params), { replace: true });
    }
  }

  const fields = login.error?.fieldErrors ?? {};
  if (signedIn) return <Navigate to={nextPath(params)} replace />;
  return (
    <Page title="Sign in">
      {params.get("expired") ? (
        <p className="notice" role="status">
          Your session has ended. Sign in again to continue where you were.
        </p>
      ) : null}
      <form className="form narrow" onSubmit={submit} noValidate>
        <Field
          label="Email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={fields.username}
        />
        <Field
          label="Password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={fields.password}
        />
        <FormEnd
          action={login}
          besideFields={["username", "password"]}
          submit={login.pending ? "Signing in…" : "Sign in"}
        />
      </form>
      <p>
        No account yet?{" "}
        <Link to={`/register${params.toString() ? `?${params.toString()}` : ""}`}>
          Create an account
        </Link>
      </p>
    </Page>
  );
}
