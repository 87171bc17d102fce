// Precision against recall, one line per class, drawn as SVG: both axes run 0 to 1, and
// the curves' points need no shared x (which uPlot requires). The legend names each
// class with its average precision, so the chart reads without the lines.
import { formatMetric } from "./format";
import type { PrCurve } from "./prCurves";
import "./PrCurveChart.css";

const COLOURS = [
  "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c",
  "#0891b2", "#4b5563", "#db2777", "#65a30d", "#7c2d12",
];
const W = 320;
const H = 240;
const PAD = { left: 40, right: 10, top: 10, bottom: 34 };
const TICKS = [0, 0.25, 0.5, 0.75, 1];

const px = (r: number) => PAD.left + r * (W - PAD.left - PAD.right);
const py = (p: number) => H - PAD.bottom - p * (H - PAD.top - PAD.bottom);

export function PrCurveChart({ title, curves }: { title: string; curves: PrCurve[] }) {
  const summary = curves
    .map((c) => `${c.name} AP ${c.averagePrecision === null ? "—" : formatMetric(c.averagePrecision)}`)
    .join(", ");
  return (
    <figure className="pr-chart">
      <figcaption>{title}</figcaption>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`${title}: precision against recall for ${curves.length} ${
          curves.length === 1 ? "class" : "classes"
        }; ${summary}`}
      >
        {TICKS.map((t) => (
          <g key={t} className="pr-grid">
            <line x1={px(0)} x2={px(1)} y1={py(t)} y2={py(t)} />
            <line x1={px(t)} x2={px(t)} y1={py(0)} y2={py(1)} />
            <text x={PAD.left - 6} y={py(t) + 4} textAnchor="end">
              {t}
            </text>
            <text x={px(t)} y={H - PAD.bottom + 14} textAnchor="middle">
              {t}
            </text>
          </g>
        ))}
        <text className="pr-axis" x={(px(0) + px(1)) / 2} y={H - 4} textAnchor="middle">
          Recall
        </text>
        <text
          className="pr-axis"
          transform={`translate(11 ${(py(0) + py(1)) / 2}) rotate(-90)`}
          textAnchor="middle"
        >
          Precision
        </text>
        {curves.map((c, i) => (
          <polyline
            key={c.name}
            fill="none"
            stroke={COLOURS[i % COLOURS.length]}
            strokeWidth={1.75}
            points={c.recall.map((r, k) => `${px(r).toFixed(1)},${py(c.precision[k]!).toFixed(1)}`).join(" ")}
          />
        ))}
      </svg>
      <ul className="pr-legend">
        {curves.map((c, i) => (
          <li key={c.name}>
            <span className="swatch" style={{ background: COLOURS[i % COLOURS.length] }} />
            {c.name}
            <span className="muted">
              {" "}
              AP {c.averagePrecision === null ? "—" : formatMetric(c.averagePrecision)}
            </span>
          </li>
        ))}
      </ul>
    </figure>
  );
}
