// A job's event log, followed live: what is there (JSON pages after the last seq), then
// Server-Sent Events with a stream token (EventSource cannot send the Authorization
// header). Events reach the caller once each and in order. The stream is closed at the
// job's terminal event (the API ends it there; an open EventSource would reconnect), and
// reopened after the last seq with a fresh token when the connection or token drops.
import { api, apiUrl, call } from "./client";
import { ApiError } from "./errors";
import type { components } from "./schema";

export type JobEvent = components["schemas"]["JobEventRead"];
type JobEventsPage = components["schemas"]["JobEventsPage"];

export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(["completed", "failed", "cancelled"]);

// EventSource delivers a named event only to listeners of that name: these are the types
// the API and the functions send. Another type still reaches the caller: the next event's
// seq leaves a gap, which is read as JSON before that event is delivered.
const STREAMED_TYPES = [
  "status",
  "heartbeat",
  "log",
  "validation",
  "metrics",
  "checkpoint",
  "attempt_lost",
  "resumed",
  "artifact_urls",
  "callback_ignored",
  "results",
  "export",
  "message",
];

/** The performance mark each streamed event leaves as it arrives. */
export const EVENT_RECEIVED = "job-event:received";

export type StreamState = "catching-up" | "live" | "reconnecting" | "ended";

export interface JobEventHandlers {
  onEvents: (events: JobEvent[]) => void;
  onState?: (state: StreamState) => void;
  onError?: (error: ApiError) => void;
}

export function isTerminal(event: JobEvent): boolean {
  return event.type === "status" && TERMINAL_STATUSES.has(String(event.data.status));
}

/** Follow job `jobId`'s events after seq `after` (0: from the first); the returned
 *  function stops. */
export function followJobEvents(
  jobId: string,
  after: number,
  handlers: JobEventHandlers,
): () => void {
  let last = after;
  let stopped = false;
  let source: EventSource | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let queue: Promise<void> = Promise.resolve();

  const setState = (state: StreamState) => {
    if (!stopped || state === "ended") handlers.onState?.(state);
  };
  const stop = () => {
    stopped = true;
    source?.close();
    source = null;
    clearTimeout(timer);
  };
  const deliver = (events: JobEvent[]) => {
    const fresh = events.filter((e) => e.seq > last);
    if (stopped || fresh.length === 0) return;
    last = fresh[fresh.length - 1]!.seq;
    handlers.onEvents(fresh);
    if (fresh.some(isTerminal)) {
      stop();
      setState("ended");
    }
  };

  /** Read every event after `last` as JSON; true when the job has ended. */
  const catchUp = async (): Promise<boolean> => {
    for (;;) {
      // The route answers JSON or an event stream; asked without `Accept:
      // text/event-stream`, it is JSON.
      const page = (await call(
        api().GET("/api/v1/jobs/{job_id}/events", {
          params: { path: { job_id: jobId }, query: { after: last } },
        }),
      )) as JobEventsPage;
      deliver(page.events);
      if (stopped) return true;
      if (page.terminal) {
        stop();
        setState("ended");
        return true;
      }
      if (page.events.length === 0) return false;
    }
  };

  const onMessage = (message: MessageEvent<string>) => {
    const event = JSON.parse(message.data) as JobEvent;
    // When the event reached the page: where the latency of what it redraws starts
    // (benchmarks/web_console.py reads these marks).
    performance.mark(EVENT_RECEIVED, { detail: { jobId, seq: event.seq, type: event.type } });
    queue = queue.then(async () => {
      if (event.seq > last + 1) await catchUp().catch(() => undefined);
      deliver([event]);
    });
  };

  const open = async () => {
    if (stopped) return;
    try {
      const answer = await call(
        api().POST("/api/v1/jobs/{job_id}/stream-token", {
          params: { path: { job_id: jobId } },
        }),
      );
      const token = answer.token;
      if (typeof token !== "string") throw new ApiError(0, "bad_answer", "No stream token");
      if (stopped) return;
      const es = new EventSource(apiUrl(`/api/v1/jobs/${jobId}/events`, { token, after: last }));
      source = es;
      es.onopen = () => {
        failures = 0;
        setState("live");
      };
      for (const type of STREAMED_TYPES) es.addEventListener(type, onMessage);
      es.onerror = () => {
        if (stopped) return;
        setState("reconnecting");
        // CONNECTING: the browser retries by itself with Last-Event-ID. CLOSED: it gave
        // up (an expired token answers 401): a new token, from the last seq.
        if (es.readyState === EventSource.CLOSED) {
          es.close();
          source = null;
          retry();
        }
      };
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(0, "error", String(error));
      handlers.onError?.(apiError);
      // A 4xx will answer the same again (the job is gone, the session ended).
      if (apiError.status >= 400 && apiError.status < 500) stop();
      else retry();
    }
  };

  const retry = () => {
    if (stopped) return;
    failures += 1;
    clearTimeout(timer);
    timer = setTimeout(() => void open(), Math.min(1000 * 2 ** (failures - 1), 15000));
  };

  setState("catching-up");
  catchUp().then(
    (ended) => {
      if (!ended) void open();
    },
    (error: unknown) => {
      if (error instanceof ApiError) handlers.onError?.(error);
      if (!(error instanceof ApiError && error.status >= 400 && error.status < 500)) retry();
    },
  );
  return stop;
}
