"""Test runs (a trained model measured on a labelled dataset) and inference jobs."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.jobs import JobRead
from api.schemas.training import Dispatch

SplitName = Literal["train", "val", "test", "all"]
CheckpointName = Literal["best", "last"]


class TestRunCreate(Dispatch):
    __test__ = False  # not a pytest test class

    training_job_id: uuid.UUID
    dataset_id: uuid.UUID
    split: SplitName | None = Field(
        default=None, description="default: the dataset's test split, else val, else all"
    )
    checkpoint: CheckpointName = "best"
    enable_xai: bool = Field(default=False, description="Grad-CAM (classification)")
    max_visualizations: int = Field(default=20, ge=0, le=1000)
    max_attempts: int = Field(default=2, ge=1, le=10)


class TestRunRead(JobRead):
    __test__ = False

    training_job_id: uuid.UUID
    dataset_id: uuid.UUID
    dataset_snapshot_id: uuid.UUID | None
    task_type: str
    framework: str
    config: dict[str, Any]
    enable_xai: bool
    processed_images: int
    overall_metrics: dict[str, Any] | None
    per_class_metrics: list[Any] | None
    confusion_matrix: list[Any] | None
    pr_curves: dict[str, Any] | None
    has_results: bool = False


class InferenceOptions(BaseModel):
    checkpoint: CheckpointName = "best"
    confidence: float = Field(default=0.25, ge=0, le=1)
    top_k: int = Field(default=5, ge=1, le=100)
    enable_xai: bool = Field(default=False, description="Grad-CAM (classification)")
    max_visualizations: int = Field(default=20, ge=0, le=1000)


class InferenceJobCreate(Dispatch, InferenceOptions):
    training_job_id: uuid.UUID
    dataset_id: uuid.UUID
    split: SplitName = "all"
    max_attempts: int = Field(default=2, ge=1, le=10)


class InferenceJobRead(JobRead):
    training_job_id: uuid.UUID | None
    inference_type: str
    dataset_id: uuid.UUID | None
    task_type: str
    framework: str
    config: dict[str, Any]
    enable_xai: bool
    processed_images: int
    total_images: int
    has_results: bool = False


class ResultsPage(BaseModel):
    """A page of a job's per-image results file (the seeds' per-image format)."""

    job_id: str
    task_type: str
    num_images: int
    offset: int
    images: list[dict[str, Any]]
    visualizations: dict[str, str]  # file name -> presigned GET URL
