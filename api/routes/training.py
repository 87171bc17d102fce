"""Training: the config schema, and training jobs (create, start, follow, resume, cancel)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from api.db.models import TrainingJob
from api.deps import CurrentUser, SessionDep, SettingsDep
from api.errors import Unprocessable
from api.schemas.common import FRAMEWORK_ENUM, SQL_INT_MAX, Page, PageParams, TaskType
from api.schemas.exports import ExportJobRead
from api.schemas.training import (
    CheckpointLinks,
    MetricsHistory,
    ResumeRequest,
    TrainingJobCreate,
    TrainingJobRead,
    ValidationResultRead,
)
from api.services import exports, ownership, training
from api.services.jobs import lookup
from contract import catalog, training_config

router = APIRouter(prefix="/api/v1/training", tags=["training"])


@router.get("/config-schema", response_model=training_config.ConfigSchema)
async def config_schema(
    framework: Annotated[str, Query(json_schema_extra=FRAMEWORK_ENUM)], task_type: TaskType
) -> object:
    """The typed fields a training job's `config` takes for this framework and task, with
    the presets (basic, standard, aggressive). Job creation validates against exactly this."""
    if framework not in catalog.FRAMEWORKS:
        raise Unprocessable(
            f"framework: must be one of {', '.join(catalog.FRAMEWORKS)}", code="bad_model"
        )
    if not catalog.models(task_type=task_type, framework=framework):
        raise Unprocessable(f"task_type: {framework} has no {task_type} models", code="bad_task")
    return training_config.schema(framework, task_type)


@router.post("/jobs", response_model=TrainingJobRead, status_code=status.HTTP_201_CREATED)
def create_training_job(
    data: TrainingJobCreate, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    """Create a training job on a snapshot of the dataset, taken now, and start it (unless
    `start` is false). A config value the schema refuses answers 422 naming the field."""
    return training.read(training.create(db, settings, user, data))


@router.get("/jobs", response_model=Page[TrainingJobRead])
def list_training_jobs(
    user: CurrentUser,
    db: SessionDep,
    page: Annotated[PageParams, Depends()],
    status: str | None = None,
    framework: str | None = None,
    dataset_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
) -> object:
    return training.list_for(
        db, user, page, status=status, framework=framework, dataset_id=dataset_id,
        project_id=project_id,
    )  # fmt: skip


@router.get("/jobs/{training_job_id}", response_model=TrainingJobRead)
def get_training_job(training_job_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> object:
    return training.read(ownership.get_for_read(db, TrainingJob, training_job_id, user))


@router.post("/jobs/{training_job_id}/start", response_model=TrainingJobRead)
def start_training_job(
    training_job_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    """Start a job created with `start: false`; 409 unless it is pending."""
    return training.read(training.start(db, settings, user, training_job_id))


@router.post("/jobs/{training_job_id}/resume", response_model=TrainingJobRead)
def resume_training_job(
    training_job_id: uuid.UUID,
    user: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    data: ResumeRequest | None = None,
) -> object:
    """Run an ended job again from its last checkpoint: a failed or cancelled one to its
    epochs, or any one further with `epochs`. 409 when it has no checkpoint."""
    epochs = data.epochs if data else None
    return training.read(training.resume(db, settings, user, training_job_id, epochs))


@router.post("/jobs/{training_job_id}/cancel", response_model=TrainingJobRead)
def cancel_training_job(
    training_job_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    """Stop the run within seconds; the job ends `cancelled` (409 when it already ended)."""
    return training.read(lookup.cancel(db, settings, user, TrainingJob, training_job_id))


@router.get("/jobs/{training_job_id}/metrics", response_model=MetricsHistory)
def training_metrics(training_job_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> object:
    """Every epoch's validation metrics and training figures, in order."""
    return training.metrics_history(db, user, training_job_id)


@router.get("/jobs/{training_job_id}/validation-results", response_model=list[ValidationResultRead])
def validation_results(
    training_job_id: uuid.UUID,
    user: CurrentUser,
    db: SessionDep,
    epoch: Annotated[int | None, Query(ge=0, le=SQL_INT_MAX, description="only this epoch")] = None,
) -> object:
    """Per epoch: all metrics, per-class metrics, confusion matrix, PR curves."""
    return training.validation_results(db, user, training_job_id, epoch)


@router.get("/jobs/{training_job_id}/checkpoints", response_model=CheckpointLinks)
def training_checkpoints(
    training_job_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    """Presigned download URLs of the best and the last checkpoint."""
    return training.checkpoints(db, settings, user, training_job_id)


@router.get("/jobs/{training_job_id}/exports", response_model=list[ExportJobRead])
def training_exports(training_job_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> object:
    """The training job's exports, newest version first (the default is flagged)."""
    return exports.for_training_job(db, user, training_job_id)
