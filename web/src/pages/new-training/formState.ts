// The whole form lives in the URL's search params, so a reload, a shared link or the back
// button from the new run brings it back as it was: `dataset`, `framework`, `model`,
// `name`, `attempts`, `start`, and `c.<field>` for each training setting set away from its
// default (by hand, by a preset or by the chat).
import { rawDefault, type SchemaFieldSpec, typedValue } from "../../components/SchemaField";

const CONFIG = "c.";

export function configRaw(params: URLSearchParams, field: SchemaFieldSpec): string {
  return params.get(CONFIG + field.name) ?? rawDefault(field);
}

/** The config a job is created with: every field the schema shows, as the form shows it. */
export function configBody(
  params: URLSearchParams,
  fields: SchemaFieldSpec[],
): Record<string, unknown> {
  return Object.fromEntries(fields.map((f) => [f.name, typedValue(f, configRaw(params, f))]));
}

/** `params` with these training settings set (a preset, the chat's reading). */
export function withConfig(params: URLSearchParams, values: Record<string, unknown>): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const [name, value] of Object.entries(values)) {
    next.set(CONFIG + name, value === null || value === undefined ? "" : String(value));
  }
  return next;
}

export function withParam(params: URLSearchParams, name: string, value: string | null): URLSearchParams {
  const next = new URLSearchParams(params);
  if (value === null || value === "") next.delete(name);
  else next.set(name, value);
  return next;
}

/** A chat answer's reading ({dataset_id, framework, model_name, preset, config, name}) as
 *  the form's params. Only what the user said is taken (`partial_config`), never the
 *  defaults a complete body carries, so a preset or an edit already in the form stays. */
export function withChat(
  params: URLSearchParams,
  said: Record<string, unknown>,
  complete: Record<string, unknown> | null,
  presets: Record<string, Record<string, unknown>>,
): { params: URLSearchParams; changed: string[] } {
  let next = new URLSearchParams(params);
  const changed: string[] = [];
  const text = (v: unknown) => (typeof v === "string" && v ? v : null);
  const dataset = text(said.dataset_id) ?? text(complete?.dataset_id);
  if (dataset && dataset !== params.get("dataset")) {
    next = withParam(next, "dataset", dataset);
    changed.push("dataset");
  }
  const framework = text(said.framework) ?? text(complete?.framework);
  const model = text(said.model_name) ?? text(complete?.model_name);
  if (framework && model && (framework !== params.get("framework") || model !== params.get("model"))) {
    next = withParam(withParam(next, "framework", framework), "model", model);
    changed.push("model");
  }
  const preset = text(said.preset);
  if (preset && presets[preset]) {
    next = withConfig(next, presets[preset]);
    changed.push(`${preset} preset`);
  }
  const config = said.config && typeof said.config === "object" ? said.config : {};
  next = withConfig(next, config as Record<string, unknown>);
  changed.push(...Object.keys(config).map((k) => k.replaceAll("_", " ")));
  const name = text(complete?.name);
  if (name && !params.get("name")) {
    next = withParam(next, "name", name);
    changed.push("job name");
  }
  return { params: next, changed };
}
