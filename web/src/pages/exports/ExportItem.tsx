// One export: what it is, how it went (status, failure reason, size, latency, the
// validation verdict), and what to do with it (download, make default, deploy).
import { useState } from "react";
import { Link } from "react-router";
import { TERMINAL_STATUSES } from "../../api/events";
import { useAction } from "../../api/hooks";
import type { components } from "../../api/schema";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Fact } from "../../components/Fact";
import { formatBytes, formatDate, formatMetric } from "../../components/format";
import { StatusBadge } from "../../components/StatusBadge";

export type ExportJob = components["schemas"]["ExportJobRead"];
type Download = components["schemas"]["ExportDownload"];

export function ExportItem({ job, onChanged }: { job: ExportJob; onChanged: () => void }) {
  const path = { export_job_id: job.id };
  const setDefault = useAction((api) => api.POST("/api/v1/export/jobs/{export_job_id}/set-default", { params: { path } }));
  const download = useAction((api) => api.GET("/api/v1/export/jobs/{export_job_id}/download", { params: { path } }));
  const [link, setLink] = useState<Download | null>(null);
  const completed = job.status === "completed";
  const heading = `Version ${job.version}`;
  const quantization = typeof job.config.quantization === "string" ? job.config.quantization : null;
  return (
    <li className="card export-item" aria-labelledby={`export-${job.id}`}>
      <div className="section-head">
        <h3 id={`export-${job.id}`}>
          {heading}
          {job.version_tag ? ` (${job.version_tag})` : ""}: {job.format}
          {quantization ? `, ${quantization}` : ""}
        </h3>
        <div className="status-line" role="status" aria-label={`${heading} status`}>
          <StatusBadge status={job.status} />
          {job.is_default ? <span className="badge badge-default">default</span> : null}
          {!TERMINAL_STATUSES.has(job.status) ? (
            <span className="muted">{Math.round(job.progress_percent)}%</span>
          ) : null}
        </div>
      </div>
      {job.status === "failed" ? (
        <p className="error" role="alert">
          Export failed: {job.error_message ?? "no reason was reported"}
        </p>
      ) : null}
      <dl className="facts">
        <Fact term="Size">
          {job.size_bytes === null || job.size_bytes === undefined
            ? "—"
            : `${formatBytes(job.size_bytes)} (${job.size_bytes.toLocaleString("en-US")} bytes)`}
        </Fact>
        <Fact term="Latency (median, batch 1)">
          {job.latency_median_ms === null || job.latency_median_ms === undefined
            ? "—"
            : `${job.latency_median_ms} ms`}
          {latencyWhere(job) ? <span className="muted"> on {latencyWhere(job)}</span> : null}
        </Fact>
        <Fact term="Validation">
          <Verdict job={job} />
        </Fact>
        <Fact term="Checkpoint">{String(job.config.checkpoint ?? "best")}</Fact>
        <Fact term="Created">{formatDate(job.created_at)}</Fact>
        <Fact term="Ended">{formatDate(job.completed_at)}</Fact>
      </dl>
      {completed ? (
        <div className="actions export-actions">
          {link ? (
            <a href={link.url} download={link.filename}>
              Download {link.filename}
            </a>
          ) : (
            <button
              type="button"
              className="secondary"
              disabled={download.pending || !job.has_package}
              onClick={async () => setLink((await download.run()) ?? null)}
            >
              Get a download link for version {job.version}
            </button>
          )}
          {job.is_default ? null : (
            <button
              type="button"
              className="secondary"
              disabled={setDefault.pending}
              onClick={async () => {
                if (await setDefault.run()) onChanged();
              }}
            >
              Set version {job.version} as default
            </button>
          )}
          <Link to={`/deployments?export=${job.id}`}>Deploy version {job.version}</Link>
        </div>
      ) : null}
      <ErrorMessage error={setDefault.error ?? download.error} />
    </li>
  );
}

function latencyWhere(job: ExportJob): string | null {
  const latency = (job.model_info?.latency_ms ?? null) as Record<string, unknown> | null;
  return latency && typeof latency.runtime === "string" ? latency.runtime : null;
}

/** Passed or failed, with the numbers: the metric on the checkpoint and on the export. */
function Verdict({ job }: { job: ExportJob }) {
  const v = job.validation_metrics;
  if (job.validation_passed === null || job.validation_passed === undefined || !v) {
    if (job.config.validate === false) return <>Not validated (turned off)</>;
    return <>{TERMINAL_STATUSES.has(job.status) ? "Not validated" : "Not yet"}</>;
  }
  const metric = String(v.metric ?? "metric");
  return (
    <>
      <strong>{job.validation_passed ? "Passed" : "Failed"}</strong>: {metric}{" "}
      {formatMetric(v.exported)} exported, {formatMetric(v.checkpoint)} on the checkpoint (drop{" "}
      {formatMetric(v.drop)}, at most {formatMetric(v.max_drop)})
    </>
  );
}
