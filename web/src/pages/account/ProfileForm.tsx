import { type FormEvent, useState } from "react";
import { useAction } from "../../api/hooks";
import type { components } from "../../api/schema";
import { FormEnd } from "../../components/FormEnd";
import { Checkbox } from "../../components/Checkbox";
import { Field } from "../../components/Field";

type User = components["schemas"]["UserRead"];
type Changes = components["schemas"]["UserUpdateMe"];

const FIELDS = ["full_name", "department", "timezone", "language", "notification_enabled"];

/** What PATCH /auth/me lets a user change about themselves (besides the password). */
export function ProfileForm({ user, onSaved }: { user: User; onSaved: () => void }) {
  const [fullName, setFullName] = useState(user.full_name ?? "");
  const [department, setDepartment] = useState(user.department ?? "");
  const [timezone, setTimezone] = useState(user.timezone);
  const [language, setLanguage] = useState(user.language);
  const [notify, setNotify] = useState(user.notification_enabled);
  const [saved, setSaved] = useState(false);
  const save = useAction((api, body: Changes) => api.PATCH("/api/v1/auth/me", { body }));

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    const answer = await save.run({
      // An empty field means "leave as it is": the API keeps a value sent as null.
      full_name: fullName || null,
      department: department || null,
      timezone,
      language,
      notification_enabled: notify,
    });
    if (answer) {
      setSaved(true);
      onSaved();
    }
  }

  const fields = save.error?.fieldErrors ?? {};
  return (
    <section className="card" aria-labelledby="profile">
      <h2 id="profile">Profile</h2>
      <form className="form" onSubmit={submit} noValidate>
        <Field
          label="Full name"
          autoComplete="name"
          value={fullName}
          onChange={(e) => setFullName(e.target.value)}
          error={fields.full_name}
        />
        <Field
          label="Department"
          value={department}
          onChange={(e) => setDepartment(e.target.value)}
          error={fields.department}
        />
        <Field
          label="Time zone"
          value={timezone}
          onChange={(e) => setTimezone(e.target.value)}
          error={fields.timezone}
          hint="An IANA name, such as Europe/Berlin or UTC."
        />
        <Field
          label="Language"
          value={language}
          onChange={(e) => setLanguage(e.target.value)}
          error={fields.language}
          hint="A language code, such as en or de."
        />
        <Checkbox label="Send me notifications" checked={notify} onChange={setNotify} />
        <FormEnd
          action={save}
          besideFields={FIELDS}
          submit="Save profile"
          done={saved ? "Profile saved." : null}
        />
      </form>
    </section>
  );
}
