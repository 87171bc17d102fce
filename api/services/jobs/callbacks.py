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

from sqlalchemy.orm import Session

from api.db.models import TERMINAL_STATUSES, JobStatus
from api.db.session import relax_durability
from api.errors import BadRequest, Conflict, Forbidden, NotFound
from api.services.jobs import events, progress, slots, transitions
from api.services.jobs.kinds import KINDS, handler
from api.services.jobs.kinds.base import JobRow
from api.services.jobs.tokens import JobClaims
from api.settings import Settings
from contract.jobs import (
    ArtifactRequest,
    ArtifactUrls,
    Callback,
    CallbackAck,
    Done,
    Event,
    Heartbeat,
    Validation,
)


def job_of(db: Session, claims: JobClaims, lock: bool = False) -> JobRow:
    """The job a callback token names (the token says its kind: one lookup); `lock`:
    row-locked until the transaction ends."""
    job = db.get(KINDS[claims.kind].model, claims.job_id, with_for_update=lock)
    if job is None:
        raise NotFound("Job not found")
    return job


def _admit(
    db: Session, claims: JobClaims, body: Callback, name: str
) -> tuple[JobRow, CallbackAck | None]:
    """The locked job, and an answer when the callback must not be applied."""
    if body.attempt != claims.attempt:
        raise Forbidden("The callback's attempt differs from its token's", code="wrong_attempt")
    job = job_of(db, claims, lock=True)
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


def _mark_running(db: Session, job: JobRow) -> None:
    if job.status in (JobStatus.PENDING, JobStatus.QUEUED):
        job.status = JobStatus.RUNNING
        job.started_at = job.started_at or datetime.now(UTC)
        events.append(db, job, "status", {"status": "running", "attempt": job.attempt})


def heartbeat(db: Session, claims: JobClaims, body: Heartbeat) -> CallbackAck:
    data = body.model_dump(exclude={"attempt", "seq"}, exclude_none=True)
    # The job columns it sets: every kind's progress, and the kind's own.
    columns = {"progress_percent": body.progress} | KINDS[claims.kind].heartbeat_columns(body)
    if progress.apply(db, claims, body, "heartbeat", data, columns):
        return CallbackAck(applied=True)
    job, ack = _admit(db, claims, body, "heartbeat")
    if ack:
        return ack
    if job.status not in (JobStatus.PENDING, JobStatus.QUEUED):  # no status change here
        relax_durability(db)
    _mark_running(db, job)
    job.last_heartbeat_at = datetime.now(UTC)
    for name, value in columns.items():  # None: not reported, keeps its value
        if value is not None:
            setattr(job, name, value)
    events.append(db, job, "heartbeat", data)
    db.commit()
    return CallbackAck(applied=True)


# Events that record where something durable lies (the kind's on_<type> keeps it:
# a checkpoint is the resume point; results and exports, where the job's output is);
# the others only inform.
_DURABLE_EVENTS = frozenset({"checkpoint", "results", "export"})


def event(db: Session, settings: Settings, claims: JobClaims, body: Event) -> CallbackAck:
    if body.type not in _DURABLE_EVENTS and progress.apply(db, claims, body, body.type, body.data):
        return CallbackAck(applied=True)
    job, ack = _admit(db, claims, body, "event")
    if ack:
        return ack
    if body.type in _DURABLE_EVENTS:
        handler(KINDS[claims.kind], body.type)(settings, job, body.data)
    elif job.status not in (JobStatus.PENDING, JobStatus.QUEUED):
        relax_durability(db)
    _mark_running(db, job)
    job.last_heartbeat_at = datetime.now(UTC)
    events.append(db, job, body.type, body.data)
    db.commit()
    return CallbackAck(applied=True)


def done(db: Session, settings: Settings, claims: JobClaims, body: Done) -> CallbackAck:
    job, ack = _admit(db, claims, body, "done")
    if ack:
        return ack
    if body.status == "completed":
        job.progress_percent = 100.0
    failure = KINDS[claims.kind].on_done(db, job, body)
    succeeded = body.status == "completed" and failure is None
    transitions.end(
        db,
        job,
        JobStatus.COMPLETED if succeeded else JobStatus.FAILED,
        datetime.now(UTC),
        error=failure or body.error,
        details={"metrics": body.metrics},
    )
    db.commit()
    slots.promote(db, settings, job.user_id)  # the owner's next job in line takes the slot
    return CallbackAck(applied=True)


def artifacts(
    db: Session, settings: Settings, claims: JobClaims, body: ArtifactRequest
) -> ArtifactUrls:
    """Presigned PUT URLs for the named files, under the job's own storage prefix.

    Answered again for a repeated seq (the URLs are idempotent); refused after the end.
    """
    from api.services.storage import InvalidKey, get_storage, validate_key

    job, ack = _admit(db, claims, body, "artifacts")
    if job.status in TERMINAL_STATUSES:  # (a cancel answer implies this too)
        raise Conflict(
            f"The job has ended ({job.status.value}): nothing more to upload", code="job_ended"
        )
    prefix = KINDS[claims.kind].artifact_prefix.format(id=job.id)
    storage = get_storage(settings)
    urls, keys = {}, {}
    for name in body.names:
        try:
            key = validate_key(prefix + name)
        except InvalidKey as exc:
            db.rollback()
            raise BadRequest(f"Artifact name {name!r}: {exc}", code="bad_artifact_name") from None
        keys[name] = key
        urls[name] = storage.presign_put(key)
    if ack is None:
        events.append(db, job, "artifact_urls", {"names": body.names})
        db.commit()
    return ArtifactUrls(urls=urls, keys=keys)


def validation(db: Session, claims: JobClaims, body: Validation) -> CallbackAck:
    """A validation report, as the job's kind applies it (a training job: one epoch's,
    the best tracked; a test run: its measured metrics, sent once at the end)."""
    apply = handler(KINDS[claims.kind], "validation")  # refused before anything is read
    job, ack = _admit(db, claims, body, "validation")
    if ack:
        return ack
    _mark_running(db, job)
    is_best = apply(db, job, body)
    db.commit()
    return CallbackAck(applied=True, is_best=is_best)
