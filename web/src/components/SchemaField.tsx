// One control for one field of a schema the API serves (GET /api/v1/training/config-schema
// and the like): its type picks the control, its range and choices become the control's
// own constraints, its description the hint, and the API's message for it sits beside it.
import { useId } from "react";
import type { components } from "../api/schema";
import { describedBy, FieldNotes } from "./Field";

export type SchemaFieldSpec = components["schemas"]["ConfigField"];

/** A field's value as a control holds it: booleans as "true"/"false", an empty number as "". */
export function rawDefault(field: SchemaFieldSpec): string {
  const value: unknown = field.default;
  return value === null || value === undefined ? "" : String(value);
}

/** What the API is sent for a raw value: a typed value, null for an empty number, and a
 *  text the browser let through as it is, so the API names what is wrong with it. */
export function typedValue(field: SchemaFieldSpec, raw: string): unknown {
  if (field.type === "boolean") return raw === "true";
  if (field.type === "select") return raw;
  if (raw.trim() === "") return null;
  const n = Number(raw);
  return Number.isFinite(n) ? n : raw;
}

export function SchemaField({
  field,
  value,
  onChange,
  error,
}: {
  field: SchemaFieldSpec;
  value: string;
  onChange: (raw: string) => void;
  error?: string | undefined;
}) {
  const id = useId();
  // The hint is always there: the field's description and its range.
  const described = describedBy(id, true, error);
  const invalid = error ? true : undefined;
  const hint = (
    <>
      {field.description}
      {range(field)}
    </>
  );
  const messages = <FieldNotes id={id} hint={hint} error={error} />;
  if (field.type === "boolean") {
    return (
      <div className="field">
        <div className="checkbox">
          <input
            id={id}
            type="checkbox"
            checked={value === "true"}
            onChange={(e) => onChange(String(e.target.checked))}
            aria-invalid={invalid}
            aria-describedby={described}
          />
          <label htmlFor={id}>{field.label}</label>
        </div>
        {messages}
      </div>
    );
  }
  return (
    <div className="field">
      <label htmlFor={id}>{field.label}</label>
      {field.type === "select" ? (
        <select
          id={id}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          aria-invalid={invalid}
          aria-describedby={described}
        >
          {(field.options ?? []).map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      ) : (
        <input
          id={id}
          type="number"
          inputMode={field.type === "integer" ? "numeric" : "decimal"}
          min={field.min ?? undefined}
          max={field.max ?? undefined}
          step={field.type === "integer" ? 1 : "any"}
          required={field.default !== null}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          aria-invalid={invalid}
          aria-describedby={described}
        />
      )}
      {messages}
    </div>
  );
}

function range(field: SchemaFieldSpec): string {
  if (field.min === null || field.min === undefined) return "";
  if (field.max === null || field.max === undefined) return ` (at least ${field.min})`;
  return ` (${field.min} to ${field.max})`;
}
