import { useEffect, useRef, useState } from "react";
import type { JobEvent } from "../../api/events";
import { Checkbox } from "../../components/Checkbox";
import { formatMetric, formatTime } from "../../components/format";

/** One line of the log, in words. */
export function describe(event: JobEvent): string {
  const d = event.data;
  switch (event.type) {
    case "status": {
      const attempt = typeof d.attempt === "number" ? ` (attempt ${d.attempt})` : "";
      const resumed =
        typeof d.resumed_from_epoch === "number"
          ? `, resuming from the checkpoint of epoch ${d.resumed_from_epoch}`
          : "";
      return `${String(d.status)}${attempt}${resumed}${d.error ? `: ${String(d.error)}` : ""}`;
    }
    case "heartbeat":
      return typeof d.message === "string" ? d.message : `epoch ${d.epoch}/${d.total_epochs}`;
    case "log":
      return String(d.message ?? "");
    case "validation": {
      const primary = Object.entries((d.primary ?? {}) as Record<string, unknown>)
        .map(([k, v]) => `${k} ${formatMetric(v)}`)
        .join(", ");
      return `epoch ${d.epoch} validated: ${primary}${d.is_best ? " (best so far)" : ""}`;
    }
    case "checkpoint":
      return `checkpoint of epoch ${d.epoch} saved${d.best ? " (best)" : ""}`;
    case "attempt_lost":
      return `attempt ${d.attempt} lost: the worker was lost (${String(d.reason)})${
        d.retrying
          ? `; starting attempt ${Number(d.attempt) + 1}`
          : "; no attempts left"
      }`;
    case "resumed":
      return `resume asked: from the checkpoint of epoch ${d.from_epoch}, training to epoch ${d.epochs}`;
    default:
      return JSON.stringify(d).slice(0, 300);
  }
}

// Progress a worker reports every few seconds, and its upload requests: hidden unless asked.
const ROUTINE = new Set(["heartbeat", "artifact_urls", "callback_ignored"]);

export function EventLog({ events }: { events: JobEvent[] }) {
  const [routine, setRoutine] = useState(false);
  const box = useRef<HTMLOListElement>(null);
  const shown = routine ? events : events.filter((e) => !ROUTINE.has(e.type));
  const atBottom = useRef(true);

  useEffect(() => {
    // Follow the newest line unless the reader scrolled up to read an older one.
    if (box.current && atBottom.current) box.current.scrollTop = box.current.scrollHeight;
  }, [shown.length]);

  return (
    <div>
      <Checkbox
        label="Show heartbeats and upload requests"
        checked={routine}
        onChange={setRoutine}
      />
      <ol
        ref={box}
        className="event-log"
        aria-label="Events"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {shown.map((e) => (
          <li key={e.seq} className={e.data.level === "error" ? "log-error" : undefined}>
            <span className="muted">
              #{e.seq} {formatTime(e.created_at)}
            </span>{" "}
            <span className="event-type">{e.type}</span> <span>{describe(e)}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}
