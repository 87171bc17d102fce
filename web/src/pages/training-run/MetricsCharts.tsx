// Per-epoch curves: every loss term, the metrics (the primary first) and the learning
// rate, each a uPlot chart; the curves download as CSV, each chart as PNG.
import { useMemo, useRef } from "react";
import type uPlot from "uplot";
import { LineChart, type Series } from "../../components/LineChart";
import { type EpochMetrics, isMetricValue, type MetricValue } from "./useTrainingRun";

type Group = "loss" | "metric" | "lr" | "speed";

function groupOf(name: string): Group {
  if (/loss/i.test(name)) return "loss";
  if (/(^|\/)lr$|learning_rate/i.test(name)) return "lr";
  if (/seconds|per_second|time/i.test(name)) return "speed";
  return "metric";
}

const CHARTS: Array<{ group: Group; title: string }> = [
  { group: "loss", title: "Loss" },
  { group: "metric", title: "Metrics" },
  { group: "lr", title: "Learning rate" },
];

/** Every epoch's values by name, the primary metric under its own name. */
function table(epochs: EpochMetrics[], primaryName: string | null) {
  const rows = epochs.map((e) => {
    const values: Record<string, MetricValue> = {};
    for (const [k, v] of Object.entries(e.metrics)) if (isMetricValue(v)) values[k] = v;
    if (primaryName) values[primaryName] = e.primary;
    return values;
  });
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))].sort((a, b) =>
    a === primaryName ? -1 : b === primaryName ? 1 : a.localeCompare(b),
  );
  return { rows, names };
}

export function MetricsCharts({
  epochs,
  primaryName,
  jobName,
}: {
  epochs: EpochMetrics[];
  primaryName: string | null;
  jobName: string;
}) {
  const charts = useRef(new Map<string, uPlot>());
  const { rows, names } = useMemo(() => table(epochs, primaryName), [epochs, primaryName]);
  const x = useMemo(() => epochs.map((e) => e.epoch), [epochs]);
  const seriesByGroup = useMemo(() => {
    const out = new Map<Group, Series[]>();
    for (const name of names) {
      const group = groupOf(name);
      const series = out.get(group) ?? [];
      // A value that is not finite is a gap in the line; the CSV keeps it as the API said.
      const values = rows.map((r) => r[name]).map((v) => (typeof v === "number" ? v : null));
      series.push({ label: name, values });
      out.set(group, series);
    }
    return out;
  }, [names, rows]);

  if (!epochs.length) {
    return <p className="muted">The curves appear when the first epoch is validated.</p>;
  }

  const downloadCsv = () => {
    const lines = [["epoch", ...names].join(",")];
    epochs.forEach((e, i) =>
      lines.push([e.epoch, ...names.map((n) => rows[i]![n] ?? "")].join(",")),
    );
    save(new Blob([lines.join("\n") + "\n"], { type: "text/csv" }), `${jobName}-metrics.csv`);
  };
  const downloadPng = (title: string) => {
    const plot = charts.current.get(title);
    if (!plot) return;
    const source = plot.ctx.canvas;
    const canvas = document.createElement("canvas");
    canvas.width = source.width;
    canvas.height = source.height;
    const ctx = canvas.getContext("2d")!;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(source, 0, 0);
    canvas.toBlob((blob) => blob && save(blob, `${jobName}-${title.toLowerCase()}.png`));
  };

  return (
    <div className="charts">
      <div className="chart-actions">
        <button type="button" className="secondary" onClick={downloadCsv}>
          Download curves (CSV)
        </button>
      </div>
      {CHARTS.filter((c) => seriesByGroup.has(c.group)).map((c) => (
        <div key={c.group} className="chart-box">
          <LineChart
            title={c.title}
            x={x}
            xLabel="Epoch"
            series={seriesByGroup.get(c.group)!}
            onReady={(plot) => {
              if (plot) charts.current.set(c.title, plot);
              else charts.current.delete(c.title);
            }}
          />
          <button type="button" className="secondary small" onClick={() => downloadPng(c.title)}>
            Download {c.title.toLowerCase()} chart (PNG)
          </button>
        </div>
      ))}
    </div>
  );
}

function save(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename.replace(/[^\w.-]+/g, "_");
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
