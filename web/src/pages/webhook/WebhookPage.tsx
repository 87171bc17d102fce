import { type FormEvent, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useAction, useQuery } from "../../api/hooks";
import { noContent } from "../../api/noContent";
import type { components } from "../../api/schema";
import { ConfirmButton } from "../../components/ConfirmButton";
import { ErrorMessage } from "../../components/ErrorMessage";
import { FormEnd } from "../../components/FormEnd";
import { Fact } from "../../components/Fact";
import { formatDate } from "../../components/format";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import { StatusBadge } from "../../components/StatusBadge";
import "../webhooks/webhooks.css";
import {
  type EventType,
  WEBHOOK_FIELDS,
  WebhookFields,
  type WebhookValues,
} from "../webhooks/WebhookFields";
import { Deliveries } from "./Deliveries";

type Webhook = components["schemas"]["WebhookRead"];

export default function WebhookPage() {
  const { webhookId = "" } = useParams();
  const hook = useQuery(
    (api) =>
      api.GET("/api/v1/webhooks/{webhook_id}", { params: { path: { webhook_id: webhookId } } }),
    [webhookId],
  );
  const h = hook.data;
  if (!h) {
    return (
      <Page title="Webhook">
        <ErrorMessage error={hook.error} />
        {hook.loading ? <Loading /> : null}
        <Link to="/webhooks">All webhooks</Link>
      </Page>
    );
  }
  return (
    <Page title={`Webhook to ${h.url}`} actions={<Actions hook={h} onChanged={hook.reload} />}>
      <section className="card" aria-labelledby="summary">
        <h2 id="summary">Summary</h2>
        <dl className="facts">
          <Fact term="State">
            <StatusBadge status={h.is_active ? "active" : "disabled"} />
          </Fact>
          <Fact term="Events">{h.event_types.join(", ")}</Fact>
          <Fact term="Created">{formatDate(h.created_at)}</Fact>
        </dl>
        {h.description ? <p>{h.description}</p> : null}
        {h.is_active ? null : (
          <p className="notice">Disabled: no event is sent to it until it is enabled again.</p>
        )}
      </section>
      <Deliveries webhookId={h.id} />
      <EditWebhook key={h.id} hook={h} onSaved={hook.reload} />
    </Page>
  );
}

function Actions({ hook, onChanged }: { hook: Webhook; onChanged: () => void }) {
  const navigate = useNavigate();
  const path = { webhook_id: hook.id };
  const toggle = useAction((api, is_active: boolean) =>
    api.PATCH("/api/v1/webhooks/{webhook_id}", { params: { path }, body: { is_active } }),
  );
  const remove = useAction((api) =>
    noContent(api.DELETE("/api/v1/webhooks/{webhook_id}", { params: { path } })),
  );
  return (
    <div className="actions">
      <Link to="/webhooks">All webhooks</Link>
      <button
        type="button"
        className="secondary"
        disabled={toggle.pending}
        onClick={async () => {
          if (await toggle.run(!hook.is_active)) onChanged();
        }}
      >
        {hook.is_active ? "Disable" : "Enable"}
      </button>
      <ConfirmButton
        label="Delete webhook"
        question="Delete this webhook and its delivery log?"
        confirmLabel="Yes, delete it"
        pending={remove.pending}
        onConfirm={async () => {
          if (await remove.run()) navigate("/webhooks", { replace: true });
        }}
      />
      <ErrorMessage error={toggle.error ?? remove.error} />
    </div>
  );
}

function EditWebhook({ hook, onSaved }: { hook: Webhook; onSaved: () => void }) {
  const [values, setValues] = useState<WebhookValues>({
    url: hook.url,
    events: hook.event_types as EventType[],
    description: hook.description ?? "",
  });
  const [saved, setSaved] = useState(false);
  const save = useAction((api, v: WebhookValues) =>
    api.PATCH("/api/v1/webhooks/{webhook_id}", {
      params: { path: { webhook_id: hook.id } },
      body: { url: v.url, event_types: v.events, description: v.description || null },
    }),
  );

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    if (await save.run(values)) {
      setSaved(true);
      onSaved();
    }
  }

  return (
    <section className="card" aria-labelledby="edit-webhook">
      <h2 id="edit-webhook">Edit</h2>
      <form className="form" onSubmit={submit} noValidate>
        <WebhookFields
          id="edit-webhook"
          values={values}
          onChange={setValues}
          errors={save.error?.fieldErrors ?? {}}
        />
        <FormEnd
          action={save}
          besideFields={WEBHOOK_FIELDS}
          submit="Save changes"
          done={saved ? "Changes saved." : null}
        />
      </form>
    </section>
  );
}
