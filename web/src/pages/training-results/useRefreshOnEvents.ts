import { useEffect, useRef } from "react";
import { followJobEvents } from "../../api/events";

// Events after which a job's results or its own fields have changed.
const CHANGING = new Set(["status", "validation", "checkpoint", "attempt_lost"]);

/** While job `jobId` runs (`active`), call `onChange` whenever an event says its results
 *  or status changed; stops at the job's end. */
export function useRefreshOnEvents(jobId: string, active: boolean, onChange: () => void): void {
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    if (!active) return;
    let caughtUp = false;
    const stop = followJobEvents(jobId, 0, {
      onEvents(batch) {
        // The first batch is the history the page already loaded with.
        if (caughtUp && batch.some((e) => CHANGING.has(e.type))) latest.current();
      },
      onState(state) {
        if (state !== "catching-up") caughtUp = true;
      },
    });
    return stop;
  }, [jobId, active]);
}
