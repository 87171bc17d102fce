"""Finding a job by id whatever its kind, with the same ownership rule as every resource."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from api.db.models import TERMINAL_STATUSES, JobStatus, User
from api.errors import Conflict, NotFound
from api.services import ownership, webhooks
from api.services.jobs import attempts, events, slots
from api.services.jobs.kinds import find
from api.services.jobs.runners import stop_run
from api.settings import Settings


def get_for_read(db: Session, user: User, job_id: uuid.UUID) -> Any:
    """The job, of whatever kind, if `user` may read it. NotFound otherwise, with the same
    words whether it is missing or someone else's (its kind is not revealed either)."""
    job = find(db, job_id)
    if job is not None:
        with contextlib.suppress(NotFound):
            return ownership.get_for_read(db, type(job), job_id, user)
    raise NotFound("Job not found")


def cancel(db: Session, settings: Settings, user: User, model: Any, job_id: uuid.UUID) -> Any:
    """Mark the job cancelled, then stop its run. Conflict when it already ended."""
    ownership.get_for_write(db, model, job_id, user)
    # Locked: a callback applied at the same moment waits, then sees `cancelled`.
    job: Any = db.get(model, job_id, with_for_update=True, populate_existing=True)
    if job.status in TERMINAL_STATUSES:
        raise Conflict(f"The job already ended: {job.status.value}", code="job_ended")
    now = datetime.now(UTC)
    waited = job.queue_position is not None
    job.status = JobStatus.CANCELLED
    job.completed_at = now
    slots.leave_line(job)
    attempts.close(db, job, "cancelled", now)
    events.append(db, job, "status", {"status": "cancelled", "by": str(user.id)})
    webhooks.job_ended(db, job)
    # Committed first: callbacks arriving while the run stops already see `cancelled`.
    db.commit()
    if not waited:  # a job waiting in line has no run (an old ref is a finished one's)
        stop_run(settings, job.runner, job.runner_ref)
    slots.promote(db, settings, job.user_id)  # its slot, or its place in line, is free
    return job
