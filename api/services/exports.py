"""Export jobs: versions per training job, one default, and what the export function
reports back (functions/export.py). The API never imports an exporter: what a runner's
workers can export is what they reported (api/services/jobs/capabilities.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.db.models import (
    TERMINAL_STATUSES,
    Deployment,
    ExportJob,
    JobStatus,
    TrainingJob,
    User,
)
from api.errors import Conflict, Unprocessable
from api.schemas.common import Page, PageParams
from api.schemas.exports import (
    ExportDownload,
    ExportJobCreate,
    ExportJobRead,
    ExportJobUpdate,
)
from api.services import model_jobs, ownership
from api.services.jobs import capabilities, slots
from api.services.pagination import paginate
from api.settings import Settings

ARTIFACT_NAMES = ("package", "edge_package", "container")


def create(db: Session, settings: Settings, user: User, req: ExportJobCreate) -> ExportJob:
    trained, checkpoint = model_jobs.source(db, user, req.training_job_id, req.checkpoint)
    admitted = capabilities.require(
        settings,
        req.runner,
        framework=trained.framework,
        export_format=req.format,
        quantization=req.quantization,
        gpu=req.gpu,
    )
    slots.bound(settings, user, req)
    slots.check(db, settings, user)
    snapshot_id = trained.dataset_snapshot_id
    if req.validation_dataset_id is not None:
        _, snapshot = model_jobs.dataset_snapshot(
            db, settings, user, req.validation_dataset_id, trained, labelled=True
        )
        snapshot_id = snapshot.id
    if snapshot_id is None and (req.validate_export or req.quantization == "static_int8"):
        raise Unprocessable(
            "validation_dataset_id: the training job read no dataset snapshot; name one",
            code="no_dataset",
        )
    # One writer at a time per training job picks the next version (the unique
    # constraint (training_job_id, version) backs this where locks are not available).
    db.execute(select(TrainingJob.id).where(TrainingJob.id == trained.id).with_for_update())
    version = (
        db.scalar(
            select(func.max(ExportJob.version)).where(ExportJob.training_job_id == trained.id)
        )
        or 0
    ) + 1
    job = ExportJob(
        user_id=user.id,
        project_id=trained.project_id,
        training_job_id=trained.id,
        task_type=trained.task_type,
        framework=trained.framework,
        format=req.format,
        version=version,
        version_tag=req.version_tag,
        checkpoint_key=checkpoint,
        dataset_snapshot_id=snapshot_id,
        validation_config={"enabled": req.validate_export, "max_metric_drop": req.max_metric_drop},
        config={
            **req.export_config(),
            "format": req.format,
            "model_name": trained.model_name,
            "set_default": req.set_default,
            # The checkpoint's own figure, for comparison when the function cannot
            # re-measure it (it re-measures: same split, same code as the export).
            "primary_metric": trained.primary_metric_name,
        },
        **req.job_fields(admitted),
    )
    return model_jobs.start(db, settings, job)  # type: ignore[no-any-return]


def read(job: ExportJob) -> ExportJobRead:
    return ExportJobRead.model_validate(job)


def list_for(
    db: Session, user: User, page: PageParams, training_job_id: uuid.UUID | None = None
) -> Page[ExportJobRead]:
    query = ownership.visible_to(user, ExportJob)
    if training_job_id is not None:
        ownership.get_for_read(db, TrainingJob, training_job_id, user)  # 404 when not theirs
        query = query.where(ExportJob.training_job_id == training_job_id)
    return paginate(db, query, page, ExportJobRead, ExportJob.created_at.desc(), ExportJob.id)


def for_training_job(db: Session, user: User, training_job_id: uuid.UUID) -> list[ExportJobRead]:
    ownership.get_for_read(db, TrainingJob, training_job_id, user)
    rows = db.scalars(
        ownership.visible_to(user, ExportJob)
        .where(ExportJob.training_job_id == training_job_id)
        .order_by(ExportJob.version.desc())
    )
    return [read(r) for r in rows]


def update_tag(db: Session, user: User, job_id: uuid.UUID, req: ExportJobUpdate) -> ExportJob:
    job = ownership.get_for_write(db, ExportJob, job_id, user)
    job.version_tag = req.version_tag
    db.commit()
    return job


def set_default(db: Session, user: User, job_id: uuid.UUID) -> ExportJob:
    """Make this completed export its training job's default (and no other)."""
    job = ownership.get_for_write(db, ExportJob, job_id, user)
    if job.status != JobStatus.COMPLETED:
        raise Conflict(
            f"Only a completed export can be the default; this one is {job.status.value}",
            code="not_completed",
        )
    _make_default(db, job)
    db.commit()
    return job


def _make_default(db: Session, job: ExportJob) -> None:
    db.execute(
        update(ExportJob)
        .where(ExportJob.training_job_id == job.training_job_id, ExportJob.id != job.id)
        .values(is_default=False)
    )
    job.is_default = True


def completed(db: Session, job: ExportJob) -> None:
    """Called when the function reports success: the first completed export of a
    training job, or one created with set_default, becomes its default."""
    has_default = db.scalar(
        select(func.count())
        .select_from(ExportJob)
        .where(
            ExportJob.training_job_id == job.training_job_id,
            ExportJob.is_default.is_(True),
            ExportJob.id != job.id,
        )
    )
    if (job.config or {}).get("set_default") or not has_default:
        _make_default(db, job)


def delete(db: Session, settings: Settings, user: User, job_id: uuid.UUID) -> None:
    """Remove an ended export and its files; refused while a deployment uses it."""
    from api.services.storage import get_storage

    job = ownership.get_for_write(db, ExportJob, job_id, user)
    if job.status not in TERMINAL_STATUSES:
        raise Conflict("Cancel the export before deleting it", code="job_active")
    used = db.scalar(
        select(func.count()).select_from(Deployment).where(Deployment.export_job_id == job.id)
    )
    if used:
        raise Conflict(f"{used} deployment(s) use this export; delete them first", code="in_use")
    db.delete(job)
    db.commit()
    get_storage(settings).delete_prefix(f"exports/{job_id}/")


def download(db: Session, settings: Settings, user: User, job_id: uuid.UUID) -> ExportDownload:
    """A presigned, expiring URL of the export's package (model, metadata, runtime)."""
    from api.services.storage import get_storage

    job = ownership.get_for_read(db, ExportJob, job_id, user)
    if job.status != JobStatus.COMPLETED or not job.package_key:
        raise Conflict("The export has no package (it has not completed)", code="not_completed")
    filename = f"{job.framework}-{job.format}-v{job.version}.zip"
    expires = settings.signed_url_expire_seconds
    return ExportDownload(
        url=get_storage(settings).presign_get(job.package_key, filename=filename),
        expires_at=datetime.now(UTC) + timedelta(seconds=expires),
        filename=filename,
    )


def record_artifacts(job: ExportJob, data: dict[str, Any]) -> None:
    """The function's `export` event: where it put the model, its metadata and packages,
    and what it measured. Every key must lie under the job's own `exports/{id}/`."""
    from api.errors import BadRequest

    prefix = f"exports/{job.id}/"

    def key(value: Any, what: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.startswith(prefix):
            raise BadRequest(f"The {what} key must lie under {prefix}", code="bad_export")
        return value

    model_key = key(data.get("model_key"), "model")
    if model_key is None:
        raise BadRequest("An export event names its model_key", code="bad_export")
    artifacts = data.get("artifacts") or {}
    if not isinstance(artifacts, dict) or set(artifacts) - set(ARTIFACT_NAMES):
        raise BadRequest(f"artifacts may only name {ARTIFACT_NAMES}", code="bad_export")
    job.export_key = model_key
    job.metadata_key = key(data.get("metadata_key"), "metadata")
    job.package_key = key(artifacts.get("package"), "package")
    job.checksum_sha256 = str(data.get("checksum_sha256") or "")[:64] or None
    job.model_info = {
        "size_bytes": data.get("size_bytes"),
        "latency_ms": data.get("latency_ms"),
        "optimization": data.get("optimization"),
        "files": data.get("files"),
        "artifacts": {k: key(v, k) for k, v in artifacts.items()},
    }
    if data.get("validation") is not None:
        job.validation_metrics = data["validation"]
