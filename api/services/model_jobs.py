"""What test runs and inference jobs share: they load a training job's checkpoint and read
a snapshot of a dataset (or uploaded images) with it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from api.db.models import Dataset, DatasetSnapshot, DatasetStatus, TrainingJob, User
from api.errors import Conflict, Unprocessable
from api.services import ownership
from api.services.datasets import snapshots
from api.services.jobs import events, slots
from api.services.training import checkpoint_of
from api.settings import Settings


def source(
    db: Session, user: User, training_job_id: uuid.UUID, which: str
) -> tuple[TrainingJob, str]:
    """The training job and the key of its `which` checkpoint."""
    job = checkpoint_of(db, user, training_job_id, which)
    key = job.best_checkpoint_key if which == "best" else job.last_checkpoint_key
    return job, key  # type: ignore[return-value]


def fields_of(user: User, trained: TrainingJob, checkpoint: str, enable_xai: bool) -> dict:
    """The columns a test run or an inference job takes from the model it runs."""
    return {
        "user_id": user.id,
        "project_id": trained.project_id,
        "training_job_id": trained.id,
        "task_type": trained.task_type,
        "framework": trained.framework,
        "checkpoint_key": checkpoint,
        "enable_xai": enable_xai,
        "xai_method": "gradcam" if enable_xai else None,
    }


def dataset_snapshot(
    db: Session,
    settings: Settings,
    user: User,
    dataset_id: uuid.UUID,
    trained: TrainingJob,
    labelled: bool,
) -> tuple[Dataset, DatasetSnapshot]:
    """A snapshot, taken now, of a dataset the model can read: same task, and for a test
    run (labelled) the same classes in the same order, or the metrics would mean nothing."""
    dataset = ownership.get_for_read(db, Dataset, dataset_id, user)
    if dataset.status != DatasetStatus.READY:
        raise Conflict(f"Dataset is {dataset.status.value}, not ready", code="not_ready")
    if dataset.task_type != trained.task_type:
        raise Unprocessable(
            f"dataset_id: the dataset holds {dataset.task_type} data; the model does "
            f"{trained.task_type}",
            code="bad_task",
        )
    if labelled:
        model_classes = _trained_classes(db, trained)
        if model_classes is not None and list(dataset.class_names or []) != model_classes:
            raise Unprocessable(
                "dataset_id: its classes differ from the model's "
                f"({dataset.class_names} vs {model_classes})",
                code="class_mismatch",
            )
    return dataset, snapshots.create(db, settings, user, dataset, snapshot_type="evaluation")


def _trained_classes(db: Session, trained: TrainingJob) -> list[str] | None:
    if trained.dataset_snapshot_id is None:
        return None
    dataset = db.get(Dataset, trained.dataset_id)
    return list(dataset.class_names or []) if dataset else None


def start(db: Session, settings: Settings, job: Any) -> Any:
    db.add(job)
    db.flush()
    events.append(db, job, "status", {"status": "pending"})
    return slots.start(db, settings, job)
