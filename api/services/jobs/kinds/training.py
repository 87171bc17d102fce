"""Training jobs: checkpoints (the resume point), validation every epoch with the best
one kept, the final metrics."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.db.models import JobKind, TrainingJob, TrainingValidationResult
from api.errors import BadRequest
from api.services.jobs import events
from api.services.jobs.kinds.base import Data, JobKindSpec
from api.settings import Settings
from contract.best_epoch import beats
from contract.jobs import Done, Heartbeat, Validation


def _resume_from(job: TrainingJob) -> tuple[str, int] | None:
    if not job.last_checkpoint_key:
        return None
    return job.last_checkpoint_key, job.last_checkpoint_epoch or 0


def _heartbeat_columns(body: Heartbeat) -> dict[str, Any]:
    return {
        "current_epoch": body.epoch,
        "total_epochs": body.total_epochs,
        "current_metrics": body.metrics or None,
    }


def _record_checkpoint(settings: Settings, job: TrainingJob, data: Data) -> None:
    """Keep the job's newest checkpoint as its resume point; with "best": true, also
    copy it to `best.ckpt` inside storage (no second upload from the worker). The key
    must lie under the job's own prefix (one that `/artifacts` answered)."""
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


def _validation(db: Session, job: TrainingJob, body: Validation) -> bool:
    """One epoch's validation: stored (once per epoch), the best tracked."""
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
    return is_best


def _done(db: Session, job: TrainingJob, body: Done) -> str | None:
    if body.metrics:
        job.final_metrics = body.metrics
    return None


SPEC = JobKindSpec(
    kind=JobKind.TRAINING,
    model=TrainingJob,
    inputs=("snapshot", "weights"),
    model_name=lambda job: job.model_name,
    resume_from=_resume_from,
    artifact_prefix="checkpoints/{id}/",
    heartbeat_columns=_heartbeat_columns,
    on_checkpoint=_record_checkpoint,
    on_validation=_validation,
    on_done=_done,
)
