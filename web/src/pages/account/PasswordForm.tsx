import { type FormEvent, useState } from "react";
import { useAction } from "../../api/hooks";
import { signOut } from "../../api/session";
import { FormEnd } from "../../components/FormEnd";
import { Field } from "../../components/Field";
import { signInUrl } from "../../components/RequireAuth";

/** A new password, given with the current one. The API ends every login made before the
 *  change, this one included, so the user signs in again with the new password. */
export function PasswordForm() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const change = useAction((api, current_password: string, new_password: string) =>
    api.PATCH("/api/v1/auth/me", { body: { current_password, new_password } }),
  );

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (await change.run(current, next)) {
      // A full load rather than navigate(): signing out re-renders the guarded route at
      // once, and its own redirect to sign-in would replace this one (and its notice).
      signOut();
      window.location.replace(signInUrl({ pathname: "/account", search: "" }, true));
    }
  }

  const fields = change.error?.fieldErrors ?? {};
  return (
    <section className="card" aria-labelledby="password">
      <h2 id="password">Password</h2>
      <form className="form" onSubmit={submit} noValidate>
        <Field
          label="Current password"
          type="password"
          autoComplete="current-password"
          required
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
          error={fields.current_password}
        />
        <Field
          label="New password"
          type="password"
          autoComplete="new-password"
          required
          value={next}
          onChange={(e) => setNext(e.target.value)}
          error={fields.new_password}
          hint="At least 8 characters. You will sign in again with it."
        />
        <FormEnd
          action={change}
          besideFields={["current_password", "new_password"]}
          submit="Change password"
        />
      </form>
    </section>
  );
}
