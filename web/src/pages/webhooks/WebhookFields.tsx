import type { components } from "../../api/schema";
import { Field } from "../../components/Field";

export type EventType = components["schemas"]["WebhookCreate"]["event_types"][number];

// Every event the API accepts, typed by its schema: an event it adds or drops fails tsc here.
const EVENTS: Record<EventType, string> = {
  "*": "Every event",
  "job.completed": "A job completed",
  "job.failed": "A job failed",
  "job.cancelled": "A job was cancelled",
  "dataset.ready": "A dataset is ready",
  "dataset.error": "A dataset failed validation",
};

export interface WebhookValues {
  url: string;
  events: EventType[];
  description: string;
}

export const WEBHOOK_FIELDS = ["url", "event_types", "description"];

/** URL, events and description: the fields of both creating and editing a webhook. */
export function WebhookFields({
  id,
  values,
  onChange,
  errors,
}: {
  id: string;
  values: WebhookValues;
  onChange: (values: WebhookValues) => void;
  errors: Record<string, string>;
}) {
  function toggle(event: EventType, on: boolean) {
    const events = on ? [...values.events, event] : values.events.filter((e) => e !== event);
    onChange({ ...values, events });
  }
  return (
    <>
      <Field
        label="URL"
        type="url"
        required
        placeholder="https://example.com/hooks/vision"
        value={values.url}
        onChange={(e) => onChange({ ...values, url: e.target.value })}
        error={errors.url}
      />
      <fieldset
        className="events"
        aria-describedby={errors.event_types ? `${id}-events-error` : undefined}
      >
        <legend>Events</legend>
        {(Object.keys(EVENTS) as EventType[]).map((event) => (
          <div className="checkbox" key={event}>
            <input
              id={`${id}-${event}`}
              type="checkbox"
              checked={values.events.includes(event)}
              onChange={(e) => toggle(event, e.target.checked)}
            />
            <label htmlFor={`${id}-${event}`}>
              {EVENTS[event]} <code>{event}</code>
            </label>
          </div>
        ))}
        {errors.event_types ? (
          <small id={`${id}-events-error`} className="field-error">
            {errors.event_types}
          </small>
        ) : null}
      </fieldset>
      <Field
        label="Description"
        value={values.description}
        onChange={(e) => onChange({ ...values, description: e.target.value })}
        error={errors.description}
      />
    </>
  );
}
