"""Diagnostic jobs: check a runner and the callback path end to end."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.db.models import DiagnosticJob, User
from api.schemas.jobs import DiagnosticJobCreate
from api.services.jobs import events, slots
from api.settings import Settings


def create(db: Session, settings: Settings, user: User, req: DiagnosticJobCreate) -> DiagnosticJob:
    slots.bound(settings, user, req)
    slots.check(db, settings, user)
    config = req.model_dump(include={"heartbeats", "interval", "fail", "crash_after"})
    job = DiagnosticJob(
        user_id=user.id,
        name=req.name,
        task_type="diagnostic",
        framework="none",
        config=config,
        runner=req.runner,
        max_attempts=req.max_attempts,
        resources={"timeout_seconds": req.timeout_seconds},
    )
    db.add(job)
    db.flush()
    events.append(db, job, "status", {"status": "pending"})
    return slots.start(db, settings, job)
