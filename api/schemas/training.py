from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from api.schemas.common import ORMModel, TaskType
from api.schemas.jobs import JobRead
from api.services.jobs.runners import RunnerName
from contract.capabilities import GPU_REQUEST_PATTERN, GpuRequest
from contract.non_finite import Metric


class Dispatch(BaseModel):
    """Where and how a job runs; every field has the installation's default."""

    runner: RunnerName | None = None
    gpu: str | None = Field(
        default=None,
        max_length=32,
        json_schema_extra={"pattern": GPU_REQUEST_PATTERN},
        description="a GPU type (T4, A10G, H100, ...) or 'any', optionally :COUNT (H100:2); "
        "refused at creation when the runner cannot give it",
    )
    max_attempts: int = Field(default=3, ge=1, le=10)
    timeout_seconds: int = Field(default=24 * 3600, ge=60, le=7 * 24 * 3600)

    @field_validator("gpu")
    @classmethod
    def _gpu_request(cls, value: str | None) -> str | None:
        return None if value is None else str(GpuRequest.parse(value))

    def job_fields(self, admitted: dict[str, Any] | None = None) -> dict[str, Any]:
        """The columns of a job row that these choices set, with the resources admission
        settled (api/services/jobs/capabilities.py: the GPU devices a request gets)."""
        resources = {"gpu": self.gpu, "timeout_seconds": self.timeout_seconds, **(admitted or {})}
        return {"runner": self.runner, "max_attempts": self.max_attempts, "resources": resources}


class TrainingJobCreate(Dispatch):
    name: str | None = Field(default=None, max_length=255)
    dataset_id: uuid.UUID
    project_id: uuid.UUID | None = None
    framework: str = Field(min_length=1, max_length=64)
    model_name: str = Field(min_length=1, max_length=255)
    task_type: TaskType | None = Field(default=None, description="default: the dataset's")
    preset: str | None = Field(default=None, description="basic, standard or aggressive")
    config: dict[str, Any] = Field(default_factory=dict)
    pretrained_weight_id: uuid.UUID | None = None
    start: bool = Field(default=True, description="false: create it pending; start later")


class TrainingJobRead(JobRead):
    name: str | None
    project_id: uuid.UUID | None
    dataset_id: uuid.UUID
    dataset_snapshot_id: uuid.UUID | None
    framework: str
    model_name: str
    task_type: str
    config: dict[str, Any]
    pretrained_weight_id: uuid.UUID | None
    resources: dict[str, Any] | None
    current_epoch: int
    total_epochs: int
    current_metrics: dict[str, Any] | None
    best_metrics: dict[str, Any] | None
    final_metrics: dict[str, Any] | None
    primary_metric_name: str | None
    primary_metric_direction: str
    best_epoch: int | None
    last_checkpoint_epoch: int | None
    has_best_checkpoint: bool = False


class ValidationResultRead(ORMModel):
    epoch: int
    task_type: str
    primary_metric_name: str
    primary_metric_value: Metric
    is_best: bool
    metrics: dict[str, Any]
    per_class_metrics: list[Any] | None
    confusion_matrix: list[Any] | None
    pr_curves: dict[str, Any] | None
    created_at: datetime


class EpochMetrics(BaseModel):
    epoch: int
    primary: Metric
    is_best: bool
    metrics: dict[str, Any]


class MetricsHistory(BaseModel):
    """A job's metrics epoch by epoch (validation and the epoch's training figures)."""

    primary_metric_name: str | None
    primary_metric_direction: str
    best_epoch: int | None
    epochs: list[EpochMetrics]


class CheckpointLinks(BaseModel):
    best: str | None  # presigned GET URLs
    last: str | None
    best_epoch: int | None = None
    last_epoch: int | None
    expires_in: int


class ResumeRequest(BaseModel):
    epochs: int | None = Field(
        default=None, ge=1, le=1000, description="train to this many epochs (default: as set)"
    )
