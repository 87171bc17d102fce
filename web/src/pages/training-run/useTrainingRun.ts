// A training job as it runs: the job, its per-epoch metrics, and its event log, kept
// current from the event stream (api/events.ts).
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { ApiError } from "../../api/errors";
import { followJobEvents, type JobEvent, type StreamState } from "../../api/events";
import { useQuery } from "../../api/hooks";
import type { components } from "../../api/schema";

const JOB_CHANGING = new Set(["status", "attempt_lost", "resumed", "validation", "checkpoint"]);

export type TrainingJob = components["schemas"]["TrainingJobRead"];
export type EpochMetrics = components["schemas"]["EpochMetrics"];
// A number, or "nan" / "inf" / "-inf" where the value is not finite (a diverged loss).
export type MetricValue = EpochMetrics["primary"];

export function isMetricValue(v: unknown): v is MetricValue {
  return typeof v === "number" || v === "nan" || v === "inf" || v === "-inf";
}

export interface Progress {
  epoch: number;
  total: number;
  percent: number;
}

export interface TrainingRun {
  job: TrainingJob | undefined;
  jobError: ApiError | null;
  reloadJob: () => void;
  epochs: EpochMetrics[];
  primaryName: string | null;
  events: JobEvent[];
  progress: Progress | null;
  lastSign: string | null; // when the worker last reported anything
  stream: StreamState;
  streamError: ApiError | null;
  follow: () => void; // follow again (after a resume)
}

function epochOf(event: JobEvent): { epoch: EpochMetrics; primaryName: string } | null {
  const data = event.data;
  const primary = data.primary;
  if (typeof data.epoch !== "number" || !primary || typeof primary !== "object") return null;
  const [entry] = Object.entries(primary as Record<string, unknown>);
  const value = entry?.[1];
  if (!entry || !isMetricValue(value)) return null;
  const metrics = (data.metrics ?? {}) as Record<string, unknown>;
  return {
    primaryName: entry[0],
    epoch: { epoch: data.epoch, primary: value, is_best: data.is_best === true, metrics },
  };
}

export function useTrainingRun(jobId: string): TrainingRun {
  const path = { training_job_id: jobId };
  const job = useQuery(
    (api) => api.GET("/api/v1/training/jobs/{training_job_id}", { params: { path } }),
    [jobId],
  );
  const history = useQuery(
    (api) => api.GET("/api/v1/training/jobs/{training_job_id}/metrics", { params: { path } }),
    [jobId],
  );
  const [events, setEvents] = useState<JobEvent[]>([]);
  const [streamed, setStreamed] = useState<Map<number, EpochMetrics>>(new Map());
  const [streamedPrimary, setStreamedPrimary] = useState<string | null>(null);
  const [stream, setStream] = useState<StreamState>("catching-up");
  const [streamError, setStreamError] = useState<ApiError | null>(null);
  const [generation, setGeneration] = useState(0);
  const lastSeq = useRef(0);
  const { reload: reloadJob } = job;

  useEffect(() => {
    lastSeq.current = 0;
    setEvents([]);
    setStreamed(new Map());
  }, [jobId]);

  useEffect(() => {
    const stop = followJobEvents(jobId, lastSeq.current, {
      onEvents(batch) {
        lastSeq.current = batch[batch.length - 1]!.seq;
        setEvents((all) => [...all, ...batch]);
        const epochs = batch.filter((e) => e.type === "validation").map(epochOf);
        if (epochs.some(Boolean)) {
          setStreamed((map) => {
            const next = new Map(map);
            for (const e of epochs) if (e) next.set(e.epoch.epoch, e.epoch);
            return next;
          });
          setStreamedPrimary(epochs.find(Boolean)!.primaryName);
        }
        // These change the job's own fields (status, attempt, best metrics, resume point).
        if (batch.some((e) => JOB_CHANGING.has(e.type))) {
          reloadJob();
        }
      },
      onState: setStream,
      onError: setStreamError,
    });
    return stop;
  }, [jobId, generation, reloadJob]);

  const epochs = useMemo(() => {
    const byEpoch = new Map<number, EpochMetrics>();
    for (const e of history.data?.epochs ?? []) byEpoch.set(e.epoch, e);
    for (const [n, e] of streamed) byEpoch.set(n, e);
    return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  }, [history.data, streamed]);

  const progress = useMemo((): Progress | null => {
    for (let i = events.length - 1; i >= 0; i--) {
      const d = events[i]!.data;
      if (events[i]!.type === "heartbeat" && typeof d.epoch === "number") {
        return {
          epoch: d.epoch,
          total: typeof d.total_epochs === "number" ? d.total_epochs : (job.data?.total_epochs ?? 0),
          percent: typeof d.progress === "number" ? d.progress : (job.data?.progress_percent ?? 0),
        };
      }
    }
    if (!job.data) return null;
    return {
      epoch: job.data.current_epoch,
      total: job.data.total_epochs,
      percent: job.data.progress_percent,
    };
  }, [events, job.data]);

  const lastSign = useMemo(() => {
    const fromWorker = [...events].reverse().find((e) => e.type !== "status");
    const candidates = [fromWorker?.created_at, job.data?.last_heartbeat_at].filter(
      (t): t is string => !!t,
    );
    return candidates.sort((a, b) => Date.parse(b) - Date.parse(a))[0] ?? null;
  }, [events, job.data]);

  const follow = useCallback(() => setGeneration((g) => g + 1), []);
  return {
    job: job.data,
    jobError: job.error ?? history.error,
    reloadJob,
    epochs,
    primaryName: job.data?.primary_metric_name ?? history.data?.primary_metric_name ?? streamedPrimary,
    events,
    progress,
    lastSign,
    stream,
    streamError,
    follow,
  };
}
