/** Horizontal bars as a table: readable by screen readers, no chart library needed. */
export function BarChart({
  title,
  rows,
  valueLabel,
}: {
  title: string;
  rows: Array<{ label: string; value: number }>;
  valueLabel: string;
}) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return (
    <figure className="bar-chart">
      <figcaption>{title}</figcaption>
      <table>
        <thead>
          <tr>
            <th scope="col">Class</th>
            <th scope="col">{valueLabel}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.label}>
              <th scope="row">{row.label}</th>
              <td>
                <span className="bar" style={{ width: `${(100 * row.value) / max}%` }} />
                <span className="bar-value">{row.value}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
