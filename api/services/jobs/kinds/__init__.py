"""Every kind of job, registered by its JobKind: the engine finds a kind's facts and
hooks here (`kinds/base.py` says what a kind declares). Adding a kind is adding its
module and a line below."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import Session

from api.db.models import JobKind
from api.errors import BadRequest
from api.services.jobs.kinds import diagnostic, export, inference, test_run, training
from api.services.jobs.kinds.base import JobKindSpec, JobRow

KINDS: dict[JobKind, JobKindSpec[Any]] = {
    spec.kind: spec
    for spec in (training.SPEC, test_run.SPEC, inference.SPEC, export.SPEC, diagnostic.SPEC)
}


def kind_of(job: JobRow) -> JobKind:
    for kind, spec in KINDS.items():
        if isinstance(job, spec.model):
            return kind
    raise TypeError(f"{type(job).__name__} is not a job")


def spec_of(job: JobRow) -> JobKindSpec[Any]:
    return KINDS[kind_of(job)]


def kind_by_id(db: Session, job_id: uuid.UUID) -> JobKind | None:
    """Which kind's table holds `job_id` (ids are unique across kinds): one statement."""
    probes = [
        select(literal(kind.value).label("kind")).where(spec.model.id == job_id)
        for kind, spec in KINDS.items()
    ]
    found = db.scalar(union_all(*probes).limit(1))
    return JobKind(found) if found is not None else None


def find(db: Session, job_id: uuid.UUID) -> JobRow | None:
    """The job with `job_id`, whatever its kind, or None: two statements (which table,
    then the row), one when there is none. (Asking each table in turn cost one to five,
    five for a diagnostic job or a missing id; a caller that knows the kind, such as a
    callback from its token, reads `KINDS[kind].model` directly.)"""
    kind = kind_by_id(db, job_id)
    return db.get(KINDS[kind].model, job_id) if kind is not None else None


# What a kind that does not take an event answers (400): the event's code, kept stable
# for the functions and tests that read it.
_REFUSALS = {
    "checkpoint": ("Checkpoints", "not_training"),
    "results": ("Results", "bad_results"),
    "export": ("Exported models", "bad_export"),
    "validation": ("Validation results", "not_training"),
}


def handler(spec: JobKindSpec[Any], event: str) -> Callable[..., Any]:
    """The kind's hook for `event` (checkpoint, results, export, validation); BadRequest
    naming the kinds that take it when this one does not."""
    hook = getattr(spec, f"on_{event}")
    if hook is None:
        what, code = _REFUSALS[event]
        takers = [s.name for s in KINDS.values() if getattr(s, f"on_{event}") is not None]
        raise BadRequest(
            f"{what} belong to {' and '.join(takers)} jobs, not {spec.name} jobs", code=code
        )
    return hook  # type: ignore[no-any-return]
