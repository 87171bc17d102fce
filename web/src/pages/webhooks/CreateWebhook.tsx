import { type FormEvent, useState } from "react";
import { Link } from "react-router";
import { useAction } from "../../api/hooks";
import type { components } from "../../api/schema";
import { FormEnd } from "../../components/FormEnd";
import { WEBHOOK_FIELDS, WebhookFields, type WebhookValues } from "./WebhookFields";

type Created = components["schemas"]["WebhookCreated"];

const EMPTY: WebhookValues = { url: "", events: ["*"], description: "" };

/** Register a URL. The API answers with the signing secret this once only, so it stays
 *  on screen until the user creates another. */
export function CreateWebhook({ onCreated }: { onCreated: () => void }) {
  const [values, setValues] = useState<WebhookValues>(EMPTY);
  const [created, setCreated] = useState<Created | null>(null);
  const create = useAction((api, v: WebhookValues) =>
    api.POST("/api/v1/webhooks", {
      body: { url: v.url, event_types: v.events, description: v.description || null },
    }),
  );

  async function submit(event: FormEvent) {
    event.preventDefault();
    setCreated(null);
    const hook = await create.run(values);
    if (hook) {
      setCreated(hook);
      setValues(EMPTY);
      onCreated();
    }
  }

  return (
    <section className="card" aria-labelledby="create-webhook">
      <h2 id="create-webhook">Add a webhook</h2>
      <form className="form" onSubmit={submit} noValidate>
        <WebhookFields
          id="new-webhook"
          values={values}
          onChange={setValues}
          errors={create.error?.fieldErrors ?? {}}
        />
        <FormEnd action={create} besideFields={WEBHOOK_FIELDS} submit="Add webhook" />
      </form>
      {created ? (
        <div className="upload-result" role="status">
          <p>
            <Link to={`/webhooks/${created.id}`}>{created.url}</Link> added. Its signing secret,
            shown this once only (keep it where your receiver checks signatures):
          </p>
          <code className="secret">{created.secret}</code>
        </div>
      ) : null}
    </section>
  );
}
