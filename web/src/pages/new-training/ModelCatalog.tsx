import type { components } from "../../api/schema";

export type Model = components["schemas"]["ModelRead"];

/** The catalog's models for one task as cards; choosing one is a radio choice, so the
 *  arrow keys move between them. */
export function ModelCatalog({
  models,
  task,
  chosen,
  onChoose,
  error,
}: {
  models: Model[];
  task: string;
  chosen: { framework: string; model: string };
  onChoose: (model: Model) => void;
  error?: string | undefined;
}) {
  const fitting = models.filter((m) => m.task_types.includes(task));
  if (!fitting.length) return <p className="muted">No model in the catalog does {task}.</p>;
  return (
    <fieldset className="model-catalog" aria-describedby={error ? "model-error" : undefined}>
      <legend>
        {fitting.length} models for {task.replaceAll("_", " ")}
      </legend>
      {error ? (
        <p id="model-error" className="field-error">
          {error}
        </p>
      ) : null}
      <ul className="model-cards">
        {fitting.map((m) => {
          const selected = m.framework === chosen.framework && m.name === chosen.model;
          return (
            <li key={`${m.framework}/${m.name}`}>
              <label className={selected ? "model-card selected" : "model-card"}>
                <span className="model-card-title">
                  <input
                    type="radio"
                    name="model"
                    aria-label={`${m.name} (${m.framework})`}
                    checked={selected}
                    onChange={() => onChoose(m)}
                  />
                  <strong>{m.name}</strong>
                  <span className="badge">{m.framework}</span>
                </span>
                <span className="muted">{m.description}</span>
                <span className="model-card-facts">
                  <span>{formatParameters(m.parameters)} parameters</span>
                  <span>{m.default_image_size} px input</span>
                  <span>{m.task_types.map((t) => t.replaceAll("_", " ")).join(", ")}</span>
                  <span>{weightsWording(m)}</span>
                </span>
              </label>
            </li>
          );
        })}
      </ul>
    </fieldset>
  );
}

export function formatParameters(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} K`;
  return String(n);
}

function weightsWording(m: Model): string {
  if (m.pretrained_available) return "Pretrained weights: available here";
  if (m.hub_weights) return "Pretrained weights: from the framework's hub (needs the network)";
  return "Pretrained weights: none (trains from scratch)";
}
