"""Closing a job's current attempt: its outcome, why, and the compute time it used."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import JobAttempt
from api.services.jobs.kinds.base import JobRow


def close(db: Session, job: JobRow, outcome: str, now: datetime, reason: str | None = None) -> None:
    """Record how `job`'s current attempt ended (succeeded, failed, lost, cancelled)."""
    attempt = db.scalar(
        select(JobAttempt).where(JobAttempt.job_id == job.id, JobAttempt.attempt == job.attempt)
    )
    if attempt is not None:
        attempt.outcome, attempt.reason, attempt.ended_at = outcome, reason, now
        attempt.compute_seconds = (now - attempt.started_at).total_seconds()
