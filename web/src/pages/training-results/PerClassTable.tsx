import { formatMetric } from "../../components/format";
import type { PrCurve } from "../../components/prCurves";

const FIRST = ["precision", "recall", "f1", "support"];
const NOT_COLUMNS = new Set(["class_id", "class_name"]);

/** One row per class: the metrics the API gives per class (precision, recall, F1,
 *  support first), and the average precision of its PR curve. */
export function PerClassTable({ rows, curves }: { rows: Array<Record<string, unknown>>; curves: PrCurve[] }) {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter(
    (k) => !NOT_COLUMNS.has(k) && rows.some((r) => typeof r[k] === "number"),
  );
  const columns = [...FIRST.filter((k) => keys.includes(k)), ...keys.filter((k) => !FIRST.includes(k)).sort()];
  const ap = new Map(curves.map((c) => [c.name, c.averagePrecision]));
  const showAp = !columns.some((k) => /^(ap|average_precision)/i.test(k)) && curves.length > 0;
  return (
    <div className="table-scroll" tabIndex={0} role="group" aria-label="Per-class metrics (scrolls)">
      <table aria-label="Per-class metrics">
        <thead>
          <tr>
            <th scope="col">Class</th>
            {columns.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
            {showAp ? <th scope="col">average precision</th> : null}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => {
            const name = String(row.class_name ?? row.class_id ?? i);
            return (
              <tr key={name}>
                <th scope="row">{name}</th>
                {columns.map((c) => (
                  <td key={c}>{formatMetric(row[c])}</td>
                ))}
                {showAp ? <td>{formatMetric(ap.get(name) ?? null)}</td> : null}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
