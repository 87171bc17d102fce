"""Test runs (a trained model measured on a labelled dataset) and inference jobs."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.jobs import JobRead
from api.schemas.training import Dispatch

SplitName = Literal["train", "val", "test", "all"]
CheckpointName = Literal["best", "last"]
# The values of api.db.models.JobStatus, spelled here so routes need not import the models.
JobStatusName = Literal["pending", "queued", "running", "completed", "failed", "cancelled"]


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


class ResultImage(BaseModel):
    """One image's result as the job wrote it (every key it has is kept), and what the
    API adds to read it: where it sits in the file, whether it was right, its links."""

    # The file's own keys differ by task (classes, boxes, masks): all of them pass through.
    model_config = ConfigDict(extra="allow")

    image_id: str | None = None
    image_path: str | None = None
    predictions: dict[str, Any] | None = None
    ground_truth: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    index: int = Field(description="its position among all the job's images")
    correct: bool | None = Field(
        default=None,
        description="the prediction matched the truth (classification: the class; "
        "detection: no false positive, no missed object); null without ground truth",
    )
    image_url: str | None = Field(default=None, description="presigned GET of the image")
    visualization_url: str | None = Field(
        default=None,
        description="presigned GET of its picture (Grad-CAM when asked and the model "
        "can explain itself, else the prediction drawn); null past max_visualizations",
    )


class ResultsPage(BaseModel):
    """A page of a job's per-image results file (the seeds' per-image format)."""

    job_id: str
    task_type: str
    num_images: int
    num_wrong: int | None = Field(
        default=None, description="images whose prediction missed the truth; null without truth"
    )
    total: int = Field(description="images the filter chose (num_images without one)")
    offset: int
    images: list[ResultImage]
    visualizations: dict[str, str]  # file name -> presigned GET URL
