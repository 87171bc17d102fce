import { formatMetric } from "../../components/format";

// Training figures of the epoch (its loss, learning rate, speed), not how good the model is.
const TRAINING_FIGURES = /^train\/|epoch_seconds|images_per_second/;

/** The epoch's validation metrics as cards, the primary metric first. Each value is a
 *  <data> element: four decimals on screen, the API's exact number in `value`. */
export function MetricCards({
  metrics,
  primaryName,
}: {
  metrics: Record<string, unknown>;
  primaryName: string;
}) {
  const names = Object.keys(metrics)
    .filter((n) => !TRAINING_FIGURES.test(n) && typeof metrics[n] === "number")
    .sort((a, b) => (a === primaryName ? -1 : b === primaryName ? 1 : a.localeCompare(b)));
  return (
    <dl className="metric-cards">
      {names.map((name) => (
        <div key={name} className={name === primaryName ? "metric-card primary" : "metric-card"}>
          <dt>
            {name}
            {name === primaryName ? <span className="muted"> (primary)</span> : null}
          </dt>
          <dd>
            <data value={String(metrics[name])}>{formatMetric(metrics[name])}</data>
          </dd>
        </div>
      ))}
    </dl>
  );
}
