"""Nothing stays `running` forever. A job whose worker is gone (its runner says the run
exited, or it has been silent longer than HEARTBEAT_TIMEOUT_SECONDS) has lost its
attempt: it is retried as a new attempt, which resumes from the job's last checkpoint,
until `max_attempts`; then it fails saying why.

Each pass also asks again the runners whose workers' capabilities are older than
RUNNER_CAPABILITIES_MAX_AGE_HOURS (api/services/jobs/capabilities.py), so no request
waits for that. Runs from `vap reconcile`, a loop inside `vap serve`, and a schedule
where the API is serverless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import JobStatus
from api.services.jobs import attempts, capabilities, dispatch, events, slots, transitions
from api.services.jobs.kinds import KINDS
from api.services.jobs.kinds.base import JobRow
from api.services.jobs.runners import RunnerUnavailable, get_runner, stop_run
from api.settings import Settings

_ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass
class Summary:
    checked: int = 0
    retried: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    # Runners whose workers were asked again what they can do (their table was stale).
    runners_asked: list[str] = field(default_factory=list)


def _lost_because(settings: Settings, job: JobRow, now: datetime) -> str | None:
    """Why the job's current attempt is lost, or None while it is alive."""
    if job.runner and job.runner_ref:
        try:
            if get_runner(job.runner, settings).status(job.runner_ref) == "exited":
                return "the worker process exited without reporting the end of the job"
        except RunnerUnavailable:
            pass
    seen = job.last_heartbeat_at or job.started_at or job.updated_at
    silent = (now - seen).total_seconds() if seen else 0
    if silent > settings.heartbeat_timeout_seconds:
        return f"no heartbeat for {int(silent)} s (limit {settings.heartbeat_timeout_seconds} s)"
    return None


def reconcile(db: Session, settings: Settings, now: datetime | None = None) -> Summary:
    now = now or datetime.now(UTC)
    summary = Summary()
    for model in (spec.model for spec in KINDS.values()):
        # Jobs waiting in line for a slot have no worker to lose.
        candidates = db.scalars(
            select(model.id).where(model.status.in_(_ACTIVE), model.queue_position.is_(None))
        ).all()
        for job_id in candidates:
            summary.checked += 1
            # Locked and re-read: a callback or another reconciler may have moved it.
            job = db.get(model, job_id, with_for_update=True, populate_existing=True)
            if job is None or job.status not in _ACTIVE:
                db.rollback()
                continue
            reason = _lost_because(settings, job, now)
            if reason is None:
                db.rollback()
                continue
            attempts.close(db, job, "lost", now, reason)
            # A silent worker may still be alive (asleep, wedged, ignoring SIGTERM):
            # its run is ended before another attempt takes its place.
            stop_run(settings, job.runner, job.runner_ref)
            if job.attempt < job.max_attempts:
                events.append(
                    db,
                    job,
                    "attempt_lost",
                    {"attempt": job.attempt, "reason": reason, "retrying": True},
                )
                summary.retried.append(str(job.id))
                dispatch.submit(db, settings, job)  # commits
            else:
                events.append(
                    db,
                    job,
                    "attempt_lost",
                    {"attempt": job.attempt, "reason": reason, "retrying": False},
                )
                error = f"Worker lost on attempt {job.attempt} of {job.max_attempts}: {reason}"
                # Its attempt was closed above, as "lost".
                transitions.end(db, job, JobStatus.FAILED, now, error=error, close_attempt=False)
                db.commit()
                summary.failed.append(str(job.id))
    slots.promote_everyone(db, settings)  # ended jobs' slots, whoever's they were
    summary.runners_asked = capabilities.refresh_stale(settings)
    return summary
