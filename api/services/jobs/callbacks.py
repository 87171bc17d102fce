"""Applying what functions report. Every callback names its attempt and a sequence
number within it; the rules:

- a superseded attempt (a zombie worker) is refused with 409;
- a callback whose seq is not above the newest applied one is a duplicate or late:
  acknowledged, not applied, so it never moves a job backwards;
- after the job ended (done, cancelled) callbacks are recorded as events and ignored,
  and the answer tells the function to stop.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import TERMINAL_STATUSES, JobAttempt, JobKind, JobStatus
from api.errors import Conflict, Forbidden, NotFound
from api.services.jobs import events
from api.services.jobs.kinds import JOB_MODELS
from api.services.jobs.tokens import JobClaims
from contract.jobs import Callback, CallbackAck, Done, Event, Heartbeat


def _locked_job(db: Session, claims: JobClaims) -> Any:
    job = db.get(JOB_MODELS[claims.kind], claims.job_id, with_for_update=True)
    if job is None:
        raise NotFound("Job not found")
    return job


def _admit(
    db: Session, claims: JobClaims, body: Callback, name: str
) -> tuple[Any, CallbackAck | None]:
    """The locked job, and an answer when the callback must not be applied."""
    if body.attempt != claims.attempt:
        raise Forbidden("The callback's attempt differs from its token's", code="wrong_attempt")
    job = _locked_job(db, claims)
    if body.attempt < job.attempt:
        raise Conflict(
            f"Attempt {body.attempt} was superseded by attempt {job.attempt}; stop.",
            code="attempt_superseded",
        )
    if job.status in TERMINAL_STATUSES:
        events.append(
            db,
            job,
            "callback_ignored",
            {"callback": name, "seq": body.seq, "status": job.status.value},
            attempt=body.attempt,
        )
        db.commit()
        return job, CallbackAck(applied=False, cancel=job.status == JobStatus.CANCELLED)
    if body.seq <= job.last_callback_seq:
        db.rollback()
        return job, CallbackAck(applied=False)
    job.last_callback_seq = body.seq
    return job, None


def _mark_running(db: Session, job: Any) -> None:
    if job.status in (JobStatus.PENDING, JobStatus.QUEUED):
        job.status = JobStatus.RUNNING
        job.started_at = job.started_at or datetime.now(UTC)
        events.append(db, job, "status", {"status": "running", "attempt": job.attempt})


def heartbeat(db: Session, claims: JobClaims, body: Heartbeat) -> CallbackAck:
    job, ack = _admit(db, claims, body, "heartbeat")
    if ack:
        return ack
    _mark_running(db, job)
    job.last_heartbeat_at = datetime.now(UTC)
    if body.progress is not None:
        job.progress_percent = body.progress
    if claims.kind == JobKind.TRAINING:
        if body.epoch is not None:
            job.current_epoch = body.epoch
        if body.total_epochs is not None:
            job.total_epochs = body.total_epochs
        if body.metrics:
            job.current_metrics = body.metrics
    events.append(
        db, job, "heartbeat", body.model_dump(exclude={"attempt", "seq"}, exclude_none=True)
    )
    db.commit()
    return CallbackAck(applied=True)


def event(db: Session, claims: JobClaims, body: Event) -> CallbackAck:
    job, ack = _admit(db, claims, body, "event")
    if ack:
        return ack
    _mark_running(db, job)
    job.last_heartbeat_at = datetime.now(UTC)
    events.append(db, job, body.type, body.data)
    db.commit()
    return CallbackAck(applied=True)


def done(db: Session, claims: JobClaims, body: Done) -> CallbackAck:
    job, ack = _admit(db, claims, body, "done")
    if ack:
        return ack
    now = datetime.now(UTC)
    job.status = JobStatus.COMPLETED if body.status == "completed" else JobStatus.FAILED
    job.completed_at = now
    job.progress_percent = 100.0 if body.status == "completed" else job.progress_percent
    job.error_message = body.error
    if claims.kind == JobKind.TRAINING and body.metrics:
        job.final_metrics = body.metrics
    attempt = db.scalar(
        select(JobAttempt).where(JobAttempt.job_id == job.id, JobAttempt.attempt == job.attempt)
    )
    if attempt is not None:
        attempt.outcome = "succeeded" if body.status == "completed" else "failed"
        attempt.ended_at = now
        attempt.reason = body.error
    events.append(
        db,
        job,
        "status",
        {"status": job.status.value, "metrics": body.metrics, "error": body.error},
    )
    db.commit()
    return CallbackAck(applied=True)
