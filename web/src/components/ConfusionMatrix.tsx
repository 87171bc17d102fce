// A confusion matrix as an HTML table: rows are the truth, columns the prediction, class
// names as row and column headers, so a screen reader reads "truth digit_3, predicted
// digit_8: 2". The cell's colour only repeats its count (darker is more), scaled to the
// largest cell.
import "./ConfusionMatrix.css";

export function ConfusionMatrix({
  matrix,
  labels,
  caption,
}: {
  matrix: number[][];
  labels: string[];
  caption: string;
}) {
  const max = Math.max(1, ...matrix.flat());
  const total = matrix.flat().reduce((a, b) => a + b, 0);
  const name = (i: number) => labels[i] ?? `class ${i}`;
  return (
    <>
      <p className="muted confusion-note">Rows are the true class, columns the predicted one.</p>
      <div className="confusion-scroll" tabIndex={0} role="group" aria-label={`${caption} (scrolls)`}>
        <table className="confusion-matrix">
          <caption>
            {caption} ({total} {total === 1 ? "image" : "images"})
          </caption>
          <thead>
            <tr>
              <th scope="col" className="corner">
                Truth \ Predicted
              </th>
              {matrix[0]?.map((_, j) => (
                <th key={j} scope="col">
                  {name(j)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {matrix.map((row, i) => (
              <tr key={i}>
                <th scope="row">{name(i)}</th>
                {row.map((count, j) => {
                  const share = count / max;
                  return (
                    <td
                      key={j}
                      className={i === j ? "diagonal" : undefined}
                      style={{
                        backgroundColor: `rgba(29, 78, 216, ${count ? 0.08 + 0.92 * share : 0})`,
                        color: share > 0.5 ? "#fff" : undefined,
                      }}
                    >
                      {count}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
