"""Ending a job, the one way: dispatch (a runner refused it), the reconciler (its worker
was lost for the last time), cancel and the function's "done" all come here, so an ended
job always has its end time, its attempt closed, its "status" event and its webhook."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.db.models import JobStatus
from api.services import webhooks
from api.services.jobs import attempts, events, slots
from api.services.jobs.kinds.base import JobRow

# How the job's current attempt ended, by how the job ended.
_OUTCOMES = {
    JobStatus.COMPLETED: "succeeded",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELLED: "cancelled",
}


def end(
    db: Session,
    job: JobRow,
    status: JobStatus,
    now: datetime,
    error: str | None = None,
    details: dict[str, Any] | None = None,
    close_attempt: bool = True,
) -> None:
    """End `job` (locked by the caller) with `status`; flushes, does not commit.

    `error` becomes the job's error message and the event's "error" (a cancelled job
    keeps its message and its event has none); `details` are added to the "status"
    event. `close_attempt`: False where the caller already closed the attempt with its
    own outcome (the reconciler's "lost").
    """
    job.status = status
    job.completed_at = now
    if status != JobStatus.CANCELLED:
        job.error_message = error
    slots.leave_line(job)  # an ended job holds no place in its owner's line
    if close_attempt:
        attempts.close(db, job, _OUTCOMES[status], now, error)
    data: dict[str, Any] = {"status": status.value, **(details or {})}
    if status != JobStatus.CANCELLED:
        data["error"] = error
    events.append(db, job, "status", data)
    webhooks.job_ended(db, job)
