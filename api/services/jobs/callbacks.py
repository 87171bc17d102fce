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

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.db.models import TERMINAL_STATUSES, JobKind, JobStatus
from api.db.session import relax_durability
from api.errors import BadRequest, Conflict, Forbidden, NotFound
from api.services import webhooks
from api.services.jobs import attempts, events, progress, slots
from api.services.jobs.kinds import JOB_MODELS
from api.services.jobs.tokens import JobClaims
from contract.best_epoch import beats
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


def job_of(db: Session, claims: JobClaims, lock: bool = False) -> Any:
    """The job a callback token names; `lock`: row-locked until the transaction ends."""
    job = db.get(JOB_MODELS[claims.kind], claims.job_id, with_for_update=lock)
    if job is None:
        raise NotFound("Job not found")
    return job


def _admit(
    db: Session, claims: JobClaims, body: Callback, name: str
) -> tuple[Any, CallbackAck | None]:
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


def _mark_running(db: Session, job: Any) -> None:
    if job.status in (JobStatus.PENDING, JobStatus.QUEUED):
        job.status = JobStatus.RUNNING
        job.started_at = job.started_at or datetime.now(UTC)
        events.append(db, job, "status", {"status": "running", "attempt": job.attempt})


def heartbeat(db: Session, claims: JobClaims, body: Heartbeat) -> CallbackAck:
    data = body.model_dump(exclude={"attempt", "seq"}, exclude_none=True)
    columns: dict[str, Any] = {"progress_percent": body.progress}  # the job columns it sets
    if claims.kind == JobKind.TRAINING:
        columns |= {"current_epoch": body.epoch, "total_epochs": body.total_epochs}
        columns["current_metrics"] = body.metrics or None
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


# Events that record where something durable lies; the others only inform.
_DURABLE_EVENTS = frozenset({"checkpoint", "results", "export"})


def event(db: Session, settings: Any, claims: JobClaims, body: Event) -> CallbackAck:
    if body.type not in _DURABLE_EVENTS and progress.apply(db, claims, body, body.type, body.data):
        return CallbackAck(applied=True)
    job, ack = _admit(db, claims, body, "event")
    if ack:
        return ack
    if body.type == "checkpoint":
        _record_checkpoint(settings, claims, job, body.data)  # durable: the resume point
    elif body.type == "results":
        _record_results(claims, job, body.data)  # durable: where the results are
    elif body.type == "export":
        _record_export(claims, job, body.data)  # durable: where the exported model is
    elif job.status not in (JobStatus.PENDING, JobStatus.QUEUED):
        relax_durability(db)
    _mark_running(db, job)
    job.last_heartbeat_at = datetime.now(UTC)
    events.append(db, job, body.type, body.data)
    db.commit()
    return CallbackAck(applied=True)


def _record_checkpoint(settings: Any, claims: JobClaims, job: Any, data: dict[str, Any]) -> None:
    """Keep a training job's newest checkpoint as its resume point; with "best": true,
    also copy it to `best.ckpt` inside storage (no second upload from the worker). The
    key must lie under the job's own prefix (one that `/artifacts` answered)."""
    if claims.kind != JobKind.TRAINING:
        raise BadRequest("Checkpoints belong to training jobs", code="not_training")
    key, epoch = data.get("key"), data.get("epoch")
    prefix = f"checkpoints/{job.id}/"
    if not isinstance(key, str) or not key.startswith(prefix):
        raise BadRequest(f"A checkpoint key must lie under {prefix}", code="bad_checkpoint")
    if not isinstance(epoch, int) or epoch < 0:
        raise BadRequest("A checkpoint needs its epoch (an integer >= 0)", code="bad_checkpoint")
    if job.last_checkpoint_epoch is None or epoch >= job.last_checkpoint_epoch:
        job.last_checkpoint_key, job.last_checkpoint_epoch = key, epoch
    if data.get("best"):
        from api.services.storage import ObjectNotFound, get_storage

        best = f"{prefix}best.ckpt"
        if key != best:
            try:
                get_storage(settings).copy(key, best)
            except ObjectNotFound:
                raise BadRequest(
                    f"No checkpoint was uploaded at {key}", code="bad_checkpoint"
                ) from None
        job.best_checkpoint_key = best


def _record_results(claims: JobClaims, job: Any, data: dict[str, Any]) -> None:
    """Where a test run or inference job left its results: {"key", "visualizations",
    "count"}, under the job's own `results/{id}/` prefix."""
    if claims.kind not in (JobKind.TEST_RUN, JobKind.INFERENCE):
        raise BadRequest("Results belong to test runs and inference jobs", code="bad_results")
    prefix = f"results/{job.id}/"
    key, visuals, count = data.get("key"), data.get("visualizations"), data.get("count")
    if not isinstance(key, str) or not key.startswith(prefix):
        raise BadRequest(f"A results key must lie under {prefix}", code="bad_results")
    if visuals is not None and (not isinstance(visuals, str) or not visuals.startswith(prefix)):
        raise BadRequest(f"Visualizations must lie under {prefix}", code="bad_results")
    if not isinstance(count, int) or count < 0:
        raise BadRequest("Results need their image count (an integer >= 0)", code="bad_results")
    job.results_key, job.visualizations_prefix = key, visuals
    job.processed_images = count


def _record_export(claims: JobClaims, job: Any, data: dict[str, Any]) -> None:
    if claims.kind != JobKind.EXPORT:
        raise BadRequest("Exported models belong to export jobs", code="bad_export")
    from api.services import exports

    exports.record_artifacts(job, data)


def done(db: Session, settings: Any, claims: JobClaims, body: Done) -> CallbackAck:
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
    if claims.kind == JobKind.EXPORT and job.status == JobStatus.COMPLETED:
        if not job.export_key:  # a function bug; the export is unusable, so say so
            job.status = JobStatus.FAILED
            job.error_message = "The export function ended without reporting a model"
        else:
            from api.services import exports

            exports.completed(db, job)
    outcome = "succeeded" if job.status == JobStatus.COMPLETED else "failed"
    attempts.close(db, job, outcome, now, job.error_message)
    events.append(
        db,
        job,
        "status",
        {"status": job.status.value, "metrics": body.metrics, "error": job.error_message},
    )
    webhooks.job_ended(db, job)
    db.commit()
    slots.promote(db, settings, job.user_id)  # the owner's next job in line takes the slot
    return CallbackAck(applied=True)


# Where each kind of job keeps what its function uploads (DESIGN.md, Storage).
_ARTIFACT_PREFIX = {
    JobKind.TRAINING: "checkpoints/{id}/",
    JobKind.EXPORT: "exports/{id}/",
}


def artifacts(db: Session, settings: Any, claims: JobClaims, body: ArtifactRequest) -> ArtifactUrls:
    """Presigned PUT URLs for the named files, under the job's own storage prefix.

    Answered again for a repeated seq (the URLs are idempotent); refused after the end.
    """
    from api.services.storage import InvalidKey, get_storage, validate_key

    job, ack = _admit(db, claims, body, "artifacts")
    if job.status in TERMINAL_STATUSES:  # (a cancel answer implies this too)
        raise Conflict(
            f"The job has ended ({job.status.value}): nothing more to upload", code="job_ended"
        )
    prefix = _ARTIFACT_PREFIX.get(claims.kind, "results/{id}/").format(id=job.id)
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
    """One epoch's validation of a training job: stored (once per epoch), best tracked.
    For a test run: its measured metrics (sent once, at the end)."""
    from api.db.models import TrainingValidationResult

    if claims.kind not in (JobKind.TRAINING, JobKind.TEST_RUN):
        raise BadRequest(
            "Validation results belong to training jobs and test runs", code="not_training"
        )
    job, ack = _admit(db, claims, body, "validation")
    if ack:
        return ack
    _mark_running(db, job)
    if claims.kind == JobKind.TEST_RUN:
        job.overall_metrics = {**body.metrics, body.primary_metric_name: body.primary_metric_value}
        job.per_class_metrics = body.per_class_metrics
        job.confusion_matrix = body.confusion_matrix
        job.pr_curves = body.pr_curves
        events.append(db, job, "metrics", {"primary": {body.primary_metric_name:
                      body.primary_metric_value}, "metrics": body.metrics})  # fmt: skip
        db.commit()
        return CallbackAck(applied=True)
    if body.primary_metric_direction is not None:
        job.primary_metric_direction = body.primary_metric_direction
    maximize = job.primary_metric_direction != "minimize"
    best = job.best_metrics or {}
    # The worker's training loop decides (it copies best.ckpt on its own word); a caller
    # that does not say gets the same rule applied here.
    is_best = body.is_best
    if is_best is None:
        is_best = beats(body.primary_metric_value, best.get(body.primary_metric_name), maximize)
    row = db.scalar(
        select(TrainingValidationResult).where(
            TrainingValidationResult.training_job_id == job.id,
            TrainingValidationResult.epoch == body.epoch,
        )
    ) or TrainingValidationResult(training_job_id=job.id, epoch=body.epoch, task_type=job.task_type)
    row.primary_metric_name = body.primary_metric_name
    row.primary_metric_value = body.primary_metric_value
    row.metrics = body.metrics
    row.per_class_metrics = body.per_class_metrics
    row.confusion_matrix = body.confusion_matrix
    row.pr_curves = body.pr_curves
    if is_best:
        db.execute(
            update(TrainingValidationResult)
            .where(TrainingValidationResult.training_job_id == job.id)
            .values(is_best=False)
        )
        job.best_metrics = {**body.metrics, body.primary_metric_name: body.primary_metric_value}
        job.best_epoch = body.epoch
        job.primary_metric_name = body.primary_metric_name
    row.is_best = is_best
    db.add(row)
    summary = {
        "epoch": body.epoch,
        "primary": {body.primary_metric_name: body.primary_metric_value},
        "is_best": is_best,
        "metrics": body.metrics,
    }
    events.append(db, job, "validation", summary)
    db.commit()
    return CallbackAck(applied=True, is_best=is_best)
