"""The append-only event log of every job: `seq` 1, 2, 3 ... per job, no gaps.

Appending locks the job's row, so concurrent appends for one job queue up and each
gets the next number. On PostgreSQL every append NOTIFYs channel `vap_job_events`
with the job id; the notification is delivered when the transaction commits, which
wakes SSE streams at once on any API replica.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.db.models import JobEvent

# The module, not its names: a kind's hooks append events, so kinds imports this module.
from api.services.jobs import kinds
from api.services.jobs.kinds.base import JobRow

CHANNEL = "vap_job_events"


def append(
    db: Session,
    job: JobRow,
    type: str,
    data: dict[str, Any] | None = None,
    attempt: int | None = None,
) -> JobEvent:
    """Add an event to `job` (whose row the caller has locked or just created); flushes,
    does not commit."""
    job.last_event_seq = (job.last_event_seq or 0) + 1
    event = JobEvent(
        job_id=job.id,
        job_kind=kinds.kind_of(job),
        seq=job.last_event_seq,
        attempt=job.attempt if attempt is None else attempt,
        type=type,
        data=data or {},
    )
    db.add(event)
    db.flush()
    if db.get_bind().dialect.name == "postgresql":
        db.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": str(job.id)},
        )
    return event


def after(db: Session, job_id: uuid.UUID, seq: int, limit: int = 1000) -> list[JobEvent]:
    """The job's events with seq > `seq`, oldest first."""
    return list(
        db.scalars(
            select(JobEvent)
            .where(JobEvent.job_id == job_id, JobEvent.seq > seq)
            .order_by(JobEvent.seq)
            .limit(limit)
        )
    )


def as_dict(event: JobEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "type": event.type,
        "attempt": event.attempt,
        "data": event.data,
        "created_at": event.created_at.isoformat(),
    }
