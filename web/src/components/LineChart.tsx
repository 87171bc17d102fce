// Lines over epochs, drawn with uPlot (22 KB gzipped; in the chunks of the screens that
// use it, not the first load). Updates go through setData, so a new epoch redraws
// without rebuilding the chart.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  values: Array<number | null>;
}

/** Tick labels with as many decimals as the spacing between ticks needs. */
function ticks(values: number[], step: number): string[] {
  const biggest = Math.max(...values.map(Math.abs));
  if (biggest >= 1e5 || (step > 0 && step < 1e-4)) return values.map((v) => v.toExponential(1));
  let decimals = 0; // the fewest that write the step exactly (0.25: 2; 0.005: 3)
  while (decimals < 6 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-6) {
    decimals += 1;
  }
  return values.map((v) => v.toFixed(decimals));
}

/** The performance mark a chart leaves each time uPlot has drawn it. */
export const CHART_DRAWN = "chart:drawn";

const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563"];

export function LineChart({
  title,
  x,
  xLabel,
  series,
  onReady,
}: {
  title: string;
  x: number[];
  xLabel: string;
  series: Series[];
  onReady?: (chart: uPlot | null) => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const titleRef = useRef(title);
  titleRef.current = title;
  const shape = series.map((s) => s.label).join("\u0000");

  useEffect(() => {
    const element = box.current!;
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 280),
      height: 240,
      scales: { x: { time: false } },
      // Whole steps on x (epochs); y ticks with the digits their spacing needs.
      axes: [
        { label: xLabel, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
        { values: (_u, splits, _axis, _space, step) => ticks(splits, step), size: 60 },
      ],
      // When the chart has drawn its data: the end of an event's redraw latency
      // (benchmarks/web_console.py pairs it with the event's arrival mark).
      hooks: {
        draw: [
          (u) => {
            const xs = u.data[0];
            performance.mark(CHART_DRAWN, {
              detail: { title: titleRef.current, points: xs.length, last: xs[xs.length - 1] ?? null },
            });
          },
        ],
      },
      series: [
        { label: xLabel },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: COLOURS[i % COLOURS.length],
          width: 2,
          points: { show: true, size: 6 },
        })),
      ],
    };
    const plot = new uPlot(options, [x, ...series.map((s) => s.values)], element);
    chart.current = plot;
    onReady?.(plot);
    const resize = new ResizeObserver(() => {
      plot.setSize({ width: Math.max(element.clientWidth, 280), height: 240 });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
      chart.current = null;
      onReady?.(null);
    };
    // Rebuilt when the series change; new points arrive through setData below.
  }, [shape, xLabel]);

  useEffect(() => {
    chart.current?.setData([x, ...series.map((s) => s.values)]);
  }, [x, series]);

  const latest = series
    .map((s) => `${s.label} ${s.values[s.values.length - 1] ?? "—"}`)
    .join(", ");
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div
        ref={box}
        role="img"
        aria-label={`${title}: ${x.length} ${xLabel.toLowerCase()}${x.length === 1 ? "" : "s"}${
          x.length ? `; latest ${latest}` : ""
        }`}
      />
    </figure>
  );
}
