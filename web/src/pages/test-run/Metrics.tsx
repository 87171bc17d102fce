// A test run's overall metrics and its per-class table, as tables: a screen reader reads
// each row as "name value". The confusion matrix is a shared component of its own.
import { formatMetric } from "../../components/format";

export function OverallMetrics({ metrics }: { metrics: Record<string, unknown> }) {
  const entries = Object.entries(metrics);
  if (!entries.length) return <p className="muted">No metric was reported.</p>;
  return (
    <div className="table-scroll">
      <table aria-label="Overall metrics" className="metrics-table">
        <thead>
          <tr>
            <th scope="col">Metric</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {entries.map(([name, value]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td>{formatMetric(value)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

type Row = Record<string, unknown>;

const USUAL = ["precision", "recall", "f1", "AP50", "AP", "support"];

export function PerClassMetrics({ rows }: { rows: unknown[] }) {
  const table = rows.filter((r): r is Row => !!r && typeof r === "object");
  if (!table.length) return <p className="muted">No per-class figure was reported.</p>;
  // Every figure any class has; the usual ones first (the stored rows keep no key order).
  const columns = [...new Set([...USUAL, ...table.flatMap(Object.keys)])].filter(
    (c) => c !== "class_id" && c !== "class_name" && table.some((row) => c in row),
  );
  return (
    <div className="table-scroll">
      <table aria-label="Per-class metrics">
        <thead>
          <tr>
            <th scope="col">Class</th>
            {columns.map((c) => (
              <th scope="col" key={c}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {table.map((row, i) => (
            <tr key={String(row.class_id ?? i)}>
              <th scope="row">{String(row.class_name ?? row.class_id ?? i)}</th>
              {columns.map((c) => (
                <td key={c}>{formatMetric(row[c])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
