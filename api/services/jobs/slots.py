"""How many jobs a user may run at once, how many may wait, and what one job may ask.

Each role has limits (the JOB_LIMITS setting): jobs dispatched at once (a guest: one),
jobs waiting for a slot, attempts and timeout per job. A new job starts at once while
its owner has a free slot; beyond that it waits in `queued` with its place in the
owner's line (`queue_position`: 1 is next), and beyond the waiting limit it is refused
with 429 before anything is written. When one of the owner's jobs ends, the next in
line is dispatched (`promote`, called wherever a job ends, and by every reconciler pass
in case one of those was missed).

A waiting job is `queued` with a queue_position; a dispatched one (`queued` or
`running`) has none.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from api.db.models import JobStatus, User
from api.errors import TooManyRequests, Unprocessable
from api.services.jobs import dispatch, events
from api.services.jobs.kinds import KINDS
from api.services.jobs.kinds.base import JobRow
from api.settings import JobLimits, Settings

_ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
J = TypeVar("J", bound=JobRow)
_MODELS = [spec.model for spec in KINDS.values()]


def limits_for(settings: Settings, user: User) -> JobLimits:
    return settings.job_limits[user.role.value]  # type: ignore[index]


def bound(settings: Settings, user: User, req: Any) -> None:
    """Hold a job request (`max_attempts`, `timeout_seconds`) to its owner's role: a
    value the caller left at its default is lowered to the role's most, one the caller
    asked for beyond it is refused (422, naming the field)."""
    limits = limits_for(settings, user)
    most = {"max_attempts": limits.max_attempts,
            "timeout_seconds": int(limits.max_timeout_hours * 3600)}  # fmt: skip
    for name, cap in most.items():
        if name not in req.model_fields_set and getattr(req, name) > cap:
            setattr(req, name, cap)
    max_attempts, timeout_seconds = req.max_attempts, req.timeout_seconds
    if max_attempts > limits.max_attempts:
        raise _over_limit(
            "max_attempts", f"a {user.role} may ask at most {limits.max_attempts} attempts"
        )
    if timeout_seconds > limits.max_timeout_hours * 3600:
        raise _over_limit(
            "timeout_seconds",
            f"a {user.role}'s job may run at most {limits.max_timeout_hours:g} hours "
            f"({int(limits.max_timeout_hours * 3600)} s)",
        )


def _over_limit(field: str, message: str) -> Unprocessable:
    # `details` names the field, as job creation's other refusals do, so a form can show
    # the message beside the control that asked too much.
    return Unprocessable(
        f"{field}: {message}",
        code="over_role_limit",
        details=[{"field": field, "message": message}],
    )


def _counts(db: Session, user_id: uuid.UUID) -> tuple[int, int]:
    """The user's dispatched and waiting jobs, across every kind, in one statement."""
    parts = [
        select(
            func.count().filter(model.queue_position.is_(None)).label("dispatched"),
            func.count().filter(model.queue_position.is_not(None)).label("waiting"),
        ).where(model.user_id == user_id, model.status.in_(_ACTIVE))
        for model in _MODELS
    ]
    rows = db.execute(union_all(*parts)).all()
    return sum(r.dispatched for r in rows), sum(r.waiting for r in rows)


def check(db: Session, settings: Settings, user: User) -> None:
    """Refuse a new job early (429) when its owner's slots and waiting line are full,
    before the caller writes anything (a snapshot, uploaded images)."""
    limits = limits_for(settings, user)
    dispatched, waiting = _counts(db, user.id)
    if dispatched >= limits.running and waiting >= limits.waiting:
        raise _full(user, limits)


def _full(user: User, limits: JobLimits) -> TooManyRequests:
    return TooManyRequests(
        f"A {user.role} runs at most {limits.running} job(s) at once with {limits.waiting} "
        "more waiting; all are taken. Wait for one to end, or cancel one.",
        code="too_many_jobs",
        headers={"Retry-After": "60"},
        details={"running_limit": limits.running, "waiting_limit": limits.waiting},
    )


def _lock_owner(db: Session, user_id: uuid.UUID) -> User:
    """The owner's row, locked: one owner's jobs are started and promoted one at a time
    (PostgreSQL; SQLite serialises writers anyway)."""
    user = db.get(User, user_id, with_for_update=True, populate_existing=True)
    assert user is not None
    return user


def start(db: Session, settings: Settings, job: J) -> J:
    """Dispatch `job` (new, or pending again) now if its owner has a free slot and no
    job waiting before it; else put it in line; 429 (nothing of the job kept) when the
    line is full too. Commits."""
    user = _lock_owner(db, job.user_id)
    limits = limits_for(settings, user)
    dispatched, waiting = _counts(db, user.id)
    if dispatched < limits.running and waiting == 0:
        return dispatch.submit(db, settings, job)
    if waiting >= limits.waiting:
        db.rollback()
        raise _full(user, limits)
    job.status = JobStatus.QUEUED
    job.queue_position = waiting + 1
    events.append(db, job, "status", {
        "status": "queued", "waiting": True, "queue_position": job.queue_position,
        "running_limit": limits.running,
        "message": f"waiting for a free slot: {dispatched} of your jobs run "
                   f"(a {user.role} runs {limits.running} at once)",
    })  # fmt: skip
    db.commit()
    return job


def _waiting(db: Session, user_id: uuid.UUID) -> list[JobRow]:
    jobs = [
        job
        for model in _MODELS
        for job in db.scalars(
            select(model).where(
                model.user_id == user_id,
                model.status == JobStatus.QUEUED,
                model.queue_position.is_not(None),
            )
        )
    ]
    return sorted(jobs, key=lambda j: j.queue_position)


def promote(db: Session, settings: Settings, user_id: uuid.UUID) -> list[JobRow]:
    """Dispatch the owner's waiting jobs, first in line first, while slots are free;
    renumber the rest. The jobs dispatched. Commits."""
    user = _lock_owner(db, user_id)
    limits = limits_for(settings, user)
    dispatched, _ = _counts(db, user.id)
    line = _waiting(db, user.id)
    started = []
    while line and dispatched < limits.running:
        job = line.pop(0)
        job.queue_position = None
        dispatch.submit(db, settings, job)  # commits; a runner's refusal fails the job
        started.append(job)
        if job.status != JobStatus.FAILED:
            dispatched += 1
        user = _lock_owner(db, user_id)
    for place, job in enumerate(line, start=1):
        job.queue_position = place
    db.commit()
    return started


def leave_line(job: JobRow) -> None:
    """A waiting job that ends (cancelled) leaves the line; `promote` renumbers it."""
    job.queue_position = None


def promote_everyone(db: Session, settings: Settings) -> int:
    """`promote` for every owner with a waiting job and, maybe, a free slot: the
    reconciler's safety net. How many jobs it dispatched."""
    owners: set[uuid.UUID] = set()
    for model in _MODELS:
        owners.update(
            db.scalars(
                select(model.user_id).where(
                    model.status == JobStatus.QUEUED, model.queue_position.is_not(None)
                )
            )
        )
    db.rollback()
    started = [promote(db, settings, owner) for owner in owners]
    return sum(len(jobs) for jobs in started)
