// How each attempt of a job began, in words, read from its event log: the dispatcher's
// `status: queued` event names the attempt and the checkpoint it resumed from; the
// reconciler's `attempt_lost` or the user's `resumed` before it says why it began.
import type { JobEvent } from "../../api/events";

export interface AttemptStart {
  seq: number;
  attempt: number;
  resumedFromEpoch: number | null;
  why: "first" | "worker-lost" | "asked";
}

export function attemptStarts(events: JobEvent[]): AttemptStart[] {
  const starts: AttemptStart[] = [];
  let cause: JobEvent | null = null;
  for (const e of events) {
    if (e.type === "attempt_lost" || e.type === "resumed") cause = e;
    if (e.type !== "status" || e.data.status !== "queued" || typeof e.data.attempt !== "number") {
      continue;
    }
    const resumed = e.data.resumed_from_epoch;
    starts.push({
      seq: e.seq,
      attempt: e.data.attempt,
      resumedFromEpoch: typeof resumed === "number" ? resumed : null,
      why: cause?.type === "attempt_lost" ? "worker-lost" : cause ? "asked" : "first",
    });
    cause = null;
  }
  return starts;
}

/** "Attempt 2 resumed from the checkpoint of epoch 1 after the worker was lost", or null
 *  for a first attempt that started from scratch (nothing to tell). */
export function tellAttempt(start: AttemptStart): string | null {
  const from =
    start.resumedFromEpoch !== null
      ? `resumed from the checkpoint of epoch ${start.resumedFromEpoch}`
      : "started from the beginning (no checkpoint was saved)";
  switch (start.why) {
    case "worker-lost":
      // Why it was lost is the line before (the attempt_lost event's own).
      return `Attempt ${start.attempt} ${from} after the worker was lost`;
    case "asked":
      return `Attempt ${start.attempt} ${from} after a resume was asked for`;
    default:
      return start.resumedFromEpoch !== null ? `Attempt ${start.attempt} ${from}` : null;
  }
}
