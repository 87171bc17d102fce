import { type FormEvent, useState } from "react";
import { Link, useNavigate } from "react-router";
import { useSearchParams } from "../../api/searchParams";
import { requestToken } from "../../api/auth";
import { useAction } from "../../api/hooks";
import { signIn } from "../../api/session";
import { FormEnd } from "../../components/FormEnd";
import { Field } from "../../components/Field";
import { Page } from "../../components/Page";
import { nextPath } from "../../components/RequireAuth";

export default function RegisterPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [form, setForm] = useState({ email: "", password: "", full_name: "" });
  const register = useAction((api, body: typeof form) =>
    api.POST("/api/v1/auth/register", {
      body: { email: body.email, password: body.password, full_name: body.full_name || null },
    }),
  );
  const login = useAction(requestToken);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!(await register.run(form))) return;
    const token = await login.run(form.email, form.password);
    if (token) {
      signIn(token.access_token);
      navigate(nextPath(params), { replace: true });
    }
  }

  const error = register.error ?? login.error;
  const fields = error?.fieldErrors ?? {};
  const set = (name: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [name]: e.target.value }));
  return (
    <Page title="Create an account">
      <form className="form narrow" onSubmit={submit} noValidate>
        <Field
          label="Email"
          type="email"
          autoComplete="email"
          required
          value={form.email}
          onChange={set("email")}
          error={fields.email}
        />
        <Field
          label="Password"
          type="password"
          autoComplete="new-password"
          required
          value={form.password}
          onChange={set("password")}
          error={fields.password}
          hint="At least 8 characters."
        />
        <Field
          label="Full name (optional)"
          autoComplete="name"
          value={form.full_name}
          onChange={set("full_name")}
          error={fields.full_name}
        />
        <FormEnd
          action={{ error, pending: register.pending || login.pending }}
          besideFields={["email", "password", "full_name"]}
          submit={register.pending || login.pending ? "Creating…" : "Create account"}
        />
      </form>
      <p>
        Have an account already?{" "}
        <Link to={`/sign-in${params.toString() ? `?${params.toString()}` : ""}`}>Sign in</Link>
      </p>
    </Page>
  );
}
