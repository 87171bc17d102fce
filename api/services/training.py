"""Training jobs: create (validated against the catalog and the config schema), start,
resume, read their metrics and validation results.

A job pins a snapshot of its dataset when it is created, so it trains on the data as it
was then, whatever happens to the dataset afterwards; every attempt reads the same files.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import (
    TERMINAL_STATUSES,
    Dataset,
    DatasetStatus,
    JobStatus,
    PretrainedWeight,
    Project,
    TrainingJob,
    TrainingValidationResult,
    User,
)
from api.errors import Conflict, Unprocessable
from api.schemas.common import Page, PageParams
from api.schemas.training import (
    CheckpointLinks,
    EpochMetrics,
    MetricsHistory,
    TrainingJobCreate,
    TrainingJobRead,
)
from api.services import ownership
from api.services.datasets import snapshots
from api.services.jobs import capabilities, events, slots
from api.services.pagination import paginate
from api.settings import Settings
from contract import catalog, training_config


def _invalid(field: str, message: str, code: str = "invalid_config") -> Unprocessable:
    return Unprocessable(
        f"{field}: {message}", code=code, details=[{"field": field, "message": message}]
    )


def validated_config(req: TrainingJobCreate, task_type: str) -> training_config.TrainingConfig:
    """The complete config the job will run with; 422 naming every bad field."""
    try:
        return training_config.parse(req.framework, task_type, req.config, req.preset)
    except training_config.ConfigError as exc:
        first = exc.errors[0]
        raise Unprocessable(
            f"config.{first['field']}: {first['message']}",
            code="invalid_config",
            details=[{**e, "field": f"config.{e['field']}"} for e in exc.errors],
        ) from None


def create(db: Session, settings: Settings, user: User, req: TrainingJobCreate) -> TrainingJob:
    dataset = ownership.get_for_read(db, Dataset, req.dataset_id, user)
    if dataset.status != DatasetStatus.READY:
        raise Conflict(f"Dataset is {dataset.status.value}, not ready", code="not_ready")
    if req.project_id is not None:
        ownership.get_for_write(db, Project, req.project_id, user)
    model = catalog.find(req.framework, req.model_name)
    if model is None:
        if req.framework not in catalog.FRAMEWORKS:
            raise _invalid(
                "framework", f"must be one of {', '.join(catalog.FRAMEWORKS)}", "bad_model"
            )
        raise _invalid("model_name", f"{req.model_name!r} is not a {req.framework} model in "
                       "the catalog (GET /api/v1/models)", "bad_model")  # fmt: skip
    task_type = req.task_type or dataset.task_type or ""
    if task_type not in model.task_types:
        raise _invalid("task_type", f"{model.name} does {', '.join(model.task_types)}, "
                       f"not {task_type or 'an unknown task'}", "bad_task")  # fmt: skip
    if dataset.task_type != task_type:
        raise _invalid("dataset_id", f"the dataset holds {dataset.task_type} labels, "
                       f"not {task_type}", "bad_task")  # fmt: skip
    config = validated_config(req, task_type)
    slots.bound(settings, user, req)
    if req.start:
        slots.check(db, settings, user)
    admitted = capabilities.require(settings, req.runner, framework=req.framework, gpu=req.gpu)
    weight_id = None
    if req.pretrained_weight_id is not None:
        weight = ownership.get_for_read(db, PretrainedWeight, req.pretrained_weight_id, user)
        if weight.framework != req.framework or weight.base_architecture != req.model_name:
            raise _invalid("pretrained_weight_id", f"the weights are for {weight.framework} "
                           f"{weight.base_architecture}, not {req.framework} {req.model_name}",
                           "bad_weights")  # fmt: skip
        weight_id = weight.id
        weight.last_used_at = datetime.now(UTC)
    snapshot = snapshots.create(db, settings, user, dataset, snapshot_type="training")
    job = TrainingJob(
        user_id=user.id,
        project_id=req.project_id,
        name=req.name,
        dataset_id=dataset.id,
        dataset_snapshot_id=snapshot.id,
        framework=req.framework,
        model_name=req.model_name,
        task_type=task_type,
        config=config.stored(),
        pretrained_weight_id=weight_id,
        total_epochs=config.epochs,
        **req.job_fields(admitted),
    )
    db.add(job)
    db.flush()
    events.append(db, job, "status", {"status": "pending"})
    if not req.start:
        db.commit()
        return job
    return slots.start(db, settings, job)


def start(db: Session, settings: Settings, user: User, job_id: uuid.UUID) -> TrainingJob:
    """Dispatch a job created with `start: false`. Conflict unless it is pending."""
    job = _for_write_locked(db, user, job_id)
    if job.status != JobStatus.PENDING or job.attempt:
        raise Conflict(
            f"The job is {job.status.value}: only a pending job starts", code="not_pending"
        )
    return slots.start(db, settings, job)


def resume(
    db: Session, settings: Settings, user: User, job_id: uuid.UUID, epochs: int | None = None
) -> TrainingJob:
    """Run a failed or cancelled job again from its last checkpoint (a new attempt), or a
    completed one further, to `epochs`. Conflict when there is nothing to resume from."""
    job = _for_write_locked(db, user, job_id)
    if job.status not in TERMINAL_STATUSES:
        raise Conflict(
            f"The job is {job.status.value}; only an ended job resumes", code="not_ended"
        )
    if not job.last_checkpoint_key:
        raise Conflict("The job saved no checkpoint to resume from", code="no_checkpoint")
    target = epochs or job.config.get("epochs", job.total_epochs)
    if target <= (job.last_checkpoint_epoch or 0):
        raise Conflict(
            f"The checkpoint already holds epoch {job.last_checkpoint_epoch}; "
            f"ask for more epochs to train further",
            code="nothing_to_resume",
        )
    job.config = {**job.config, "epochs": target}
    job.total_epochs = target
    job.status = JobStatus.PENDING
    job.completed_at = None
    job.error_message = None
    job.max_attempts = max(job.max_attempts, job.attempt + 1)  # a user's resume is one more
    events.append(db, job, "resumed", {"from_epoch": job.last_checkpoint_epoch, "epochs": target,
                                       "by": str(user.id)})  # fmt: skip
    return slots.start(db, settings, job)


def _for_write_locked(db: Session, user: User, job_id: uuid.UUID) -> TrainingJob:
    ownership.get_for_write(db, TrainingJob, job_id, user)
    job = db.get(TrainingJob, job_id, with_for_update=True, populate_existing=True)
    assert job is not None
    return job


def read(job: TrainingJob) -> TrainingJobRead:
    out = TrainingJobRead.model_validate(job)
    out.has_best_checkpoint = job.best_checkpoint_key is not None
    return out


def list_for(
    db: Session,
    user: User,
    page: PageParams,
    *,
    status: str | None = None,
    framework: str | None = None,
    dataset_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
) -> Page[TrainingJobRead]:
    query = ownership.visible_to(user, TrainingJob)
    if status:
        query = query.where(TrainingJob.status == status)
    if framework:
        query = query.where(TrainingJob.framework == framework)
    if dataset_id:
        query = query.where(TrainingJob.dataset_id == dataset_id)
    if project_id:
        query = query.where(TrainingJob.project_id == project_id)
    result = paginate(
        db, query, page, TrainingJobRead, TrainingJob.created_at.desc(), TrainingJob.id
    )
    return result


def validation_results(
    db: Session, user: User, job_id: uuid.UUID, epoch: int | None = None
) -> list[TrainingValidationResult]:
    job = ownership.get_for_read(db, TrainingJob, job_id, user)
    query = select(TrainingValidationResult).where(
        TrainingValidationResult.training_job_id == job.id
    )
    if epoch is not None:
        query = query.where(TrainingValidationResult.epoch == epoch)
    return list(db.scalars(query.order_by(TrainingValidationResult.epoch)))


def metrics_history(db: Session, user: User, job_id: uuid.UUID) -> MetricsHistory:
    job = ownership.get_for_read(db, TrainingJob, job_id, user)
    rows = validation_results(db, user, job_id)
    return MetricsHistory(
        primary_metric_name=job.primary_metric_name,
        primary_metric_direction=job.primary_metric_direction,
        best_epoch=job.best_epoch,
        epochs=[
            EpochMetrics(
                epoch=r.epoch, primary=r.primary_metric_value, is_best=r.is_best, metrics=r.metrics
            )
            for r in rows
        ],
    )


def checkpoints(db: Session, settings: Settings, user: User, job_id: uuid.UUID) -> CheckpointLinks:
    from api.services.storage import get_storage

    job = ownership.get_for_read(db, TrainingJob, job_id, user)
    storage = get_storage(settings)
    return CheckpointLinks(
        best=storage.presign_get(job.best_checkpoint_key) if job.best_checkpoint_key else None,
        last=storage.presign_get(job.last_checkpoint_key) if job.last_checkpoint_key else None,
        best_epoch=job.best_epoch if job.best_checkpoint_key else None,
        last_epoch=job.last_checkpoint_epoch,
        expires_in=settings.signed_url_expire_seconds,
    )


def checkpoint_of(db: Session, user: User, job_id: uuid.UUID, which: str) -> TrainingJob:
    """A training job `user` may read that has the `which` (best | last) checkpoint:
    what test runs and inference jobs load. Conflict when it has none yet."""
    job = ownership.get_for_read(db, TrainingJob, job_id, user)
    key = job.best_checkpoint_key if which == "best" else job.last_checkpoint_key
    if not key:
        raise Conflict(f"Training job {job.id} has no {which} checkpoint yet", code="no_checkpoint")
    return job
