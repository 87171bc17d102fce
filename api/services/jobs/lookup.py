"""Finding a job by id whatever its kind, with the same ownership rule as every resource."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from api.db.models import TERMINAL_STATUSES, JobStatus, User
from api.errors import Conflict, NotFound
from api.services import ownership
from api.services.jobs import slots, transitions
from api.services.jobs.kinds import find
from api.services.jobs.kinds.base import JobRow
from api.services.jobs.runners import stop_run
from api.settings import Settings

J = TypeVar("J", bound=JobRow)


def get_for_read(db: Session, user: User, job_id: uuid.UUID) -> JobRow:
    """The job, of whatever kind, if `user` may read it. NotFound otherwise, with the same
    words whether it is missing or someone else's (its kind is not revealed either)."""
    job = find(db, job_id)
    if job is not None:
        with contextlib.suppress(NotFound):
            return ownership.get_for_read(db, type(job), job_id, user)
    raise NotFound("Job not found")


def cancel(db: Session, settings: Settings, user: User, model: type[J], job_id: uuid.UUID) -> J:
    """Mark the job cancelled, then stop its run. Conflict when it already ended."""
    ownership.get_for_write(db, model, job_id, user)
    # Locked: a callback applied at the same moment waits, then sees `cancelled`.
    job = db.get(model, job_id, with_for_update=True, populate_existing=True)
    if job is None:  # deleted since get_for_write read it
        raise NotFound("Job not found")
    if job.status in TERMINAL_STATUSES:
        raise Conflict(f"The job already ended: {job.status.value}", code="job_ended")
    waited = job.queue_position is not None
    transitions.end(db, job, JobStatus.CANCELLED, datetime.now(UTC), details={"by": str(user.id)})
    # Committed first: callbacks arriving while the run stops already see `cancelled`.
    db.commit()
    if not waited:  # a job waiting in line has no run (an old ref is a finished one's)
        stop_run(settings, job.runner, job.runner_ref)
    slots.promote(db, settings, job.user_id)  # its slot, or its place in line, is free
    return job
