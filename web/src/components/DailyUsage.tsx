// Usage per UTC day as the API counts it (UsageDay): calls and errors, p50/p95 latency,
// each chart with a table of the days that had calls as its text equivalent.
import { useId, useMemo } from "react";
import type { components } from "../api/schema";
import { useSearchParams } from "../api/searchParams";
import "./DailyUsage.css";
import { LineChart } from "./LineChart";
import { SelectField } from "./SelectField";

export type UsageDay = components["schemas"]["UsageDay"];

/** The periods a usage screen offers, in days; kept in the URL as `days`. */
export const PERIODS = [7, 30, 90] as const;

export function periodOf(params: URLSearchParams): number {
  const days = Number(params.get("days"));
  return (PERIODS as readonly number[]).includes(days) ? days : 30;
}

/** The period chosen in the URL (`days`), and the filter bar that chooses it and reads
 *  the usage again. */
export function usePeriod(): number {
  const [params] = useSearchParams();
  return periodOf(params);
}

export function PeriodFilter({ onRefresh }: { onRefresh: () => void }) {
  const [params, setParams] = useSearchParams();
  return (
    <div className="filters">
      <SelectField
        label="Period"
        value={String(periodOf(params))}
        onChange={(e) => {
          const next = new URLSearchParams(params);
          next.set("days", e.target.value);
          setParams(next);
        }}
      >
        {PERIODS.map((p) => (
          <option key={p} value={p}>
            Last {p} days
          </option>
        ))}
      </SelectField>
      <button type="button" className="secondary small" onClick={onRefresh}>
        Refresh usage
      </button>
    </div>
  );
}

function ms(value: number | null): string {
  return value === null ? "—" : `${value.toFixed(1)} ms`;
}

export function DailyUsage({ days, what }: { days: UsageDay[]; what: string }) {
  // x: days before today (0 is today, UTC); the table below names the dates.
  const id = useId();
  const x = useMemo(() => days.map((_, i) => i - (days.length - 1)), [days]);
  const calls = useMemo(
    () => [
      { label: "Calls", values: days.map((d) => d.calls) },
      { label: "Errors", values: days.map((d) => d.errors) },
    ],
    [days],
  );
  const latency = useMemo(
    () => [
      { label: "p50 ms", values: days.map((d) => d.latency_ms.p50) },
      { label: "p95 ms", values: days.map((d) => d.latency_ms.p95) },
    ],
    [days],
  );
  const busy = days.filter((d) => d.calls > 0).reverse();
  const total = days.reduce((sum, d) => sum + d.calls, 0);
  const errors = days.reduce((sum, d) => sum + d.errors, 0);
  return (
    <div className="daily-usage">
      <p role="status">
        {total} {total === 1 ? "call" : "calls"}, {errors} {errors === 1 ? "error" : "errors"}{" "}
        from {days[0]?.day ?? "—"} to {days[days.length - 1]?.day ?? "—"} (UTC days; 0 on the
        charts is today).
      </p>
      <div className="charts">
        {/* chart-box: a cell that may shrink below the drawn chart, so it redraws narrower */}
        <div className="chart-box usage-chart">
          <LineChart title={`Calls per day, ${what}`} x={x} xLabel="Day" series={calls} />
        </div>
        <div className="chart-box usage-chart">
          <LineChart title={`Latency per day, ${what}`} x={x} xLabel="Day" series={latency} />
        </div>
      </div>
      {busy.length ? (
        <>
          {/* A heading, not a caption: it stays in view when a narrow table scrolls. */}
          <h3 id={`${id}-days`}>Days with calls, {what}</h3>
          <div className="table-scroll">
          <table aria-labelledby={`${id}-days`}>
            <thead>
              <tr>
                <th scope="col">Day (UTC)</th>
                <th scope="col">Calls</th>
                <th scope="col">Errors</th>
                <th scope="col">p50 latency</th>
                <th scope="col">p95 latency</th>
              </tr>
            </thead>
            <tbody>
              {busy.map((d) => (
                <tr key={d.day}>
                  <th scope="row">{d.day}</th>
                  <td>{d.calls}</td>
                  <td>{d.errors}</td>
                  <td>{ms(d.latency_ms.p50)}</td>
                  <td>{ms(d.latency_ms.p95)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          </div>
        </>
      ) : (
        <p className="muted">No calls in these days.</p>
      )}
    </div>
  );
}
