"""Export jobs: a training job's checkpoint turned into a deployable, validated model."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, model_validator

from api.schemas.jobs import JobRead
from api.schemas.training import Dispatch
from contract import export_formats

# Every format a module in contract/export_formats/ describes, in its rank order (what
# the OpenAPI document lists); whether a runner can make it is the capability table's.
if TYPE_CHECKING:
    ExportFormatName = str
else:
    ExportFormatName = Literal[export_formats.names()]
Quantization = Literal["dynamic_int8", "static_int8", "fp16"]


class ExportJobCreate(Dispatch):
    training_job_id: uuid.UUID
    format: ExportFormatName = "onnx"
    checkpoint: Literal["best", "last"] = "best"
    opset: int = Field(default=17, ge=11, le=21, description="ONNX opset")
    dynamic_batch: bool = True
    embed_preprocessing: bool = Field(
        default=False, description="ONNX takes uint8 NHWC pixels and normalizes inside"
    )
    quantization: Quantization | None = None
    validate_export: bool = Field(
        default=True,
        alias="validate",
        description="evaluate the exported model on the validation split and compare",
    )
    validation_dataset_id: uuid.UUID | None = Field(
        default=None, description="default: the training job's own validation split"
    )
    max_metric_drop: float = Field(
        default=0.02, ge=0, le=1, description="fail the export when the metric drops more"
    )
    version_tag: str | None = Field(default=None, min_length=1, max_length=100)
    set_default: bool = False
    max_attempts: int = Field(default=2, ge=1, le=10)
    timeout_seconds: int = Field(default=2 * 3600, ge=60, le=24 * 3600)

    model_config = {"populate_by_name": True}

    def export_config(self) -> dict[str, Any]:
        """What the function needs to know, stored on the job (config column)."""
        return {
            "checkpoint": self.checkpoint,
            "opset": self.opset,
            "dynamic_batch": self.dynamic_batch,
            "embed_preprocessing": self.embed_preprocessing,
            "quantization": self.quantization,
            "validate": self.validate_export,
            "max_metric_drop": self.max_metric_drop,
        }


class ExportJobUpdate(BaseModel):
    version_tag: str | None = Field(default=None, min_length=1, max_length=100)


class ExportJobRead(JobRead):
    training_job_id: uuid.UUID
    version: int
    version_tag: str | None
    is_default: bool
    format: str
    framework: str
    task_type: str
    config: dict[str, Any]
    validation_metrics: dict[str, Any] | None
    model_info: dict[str, Any] | None
    checksum_sha256: str | None
    size_bytes: int | None = None
    has_package: bool = False
    latency_median_ms: float | None = Field(
        default=None, description="median latency of one image (batch 1), as measured on export"
    )
    validation_passed: bool | None = Field(
        default=None,
        description="whether the exported model's metric stayed within max_metric_drop of "
        "the checkpoint's; null when it was not validated (yet)",
    )

    @model_validator(mode="after")
    def _from_model_info(self) -> ExportJobRead:
        # What the worker wrote: read defensively, a field of another shape is no figure.
        info = self.model_info or {}
        self.size_bytes = info.get("size_bytes")
        artifacts = info.get("artifacts")
        self.has_package = isinstance(artifacts, dict) and bool(artifacts.get("package"))
        latency = info.get("latency_ms")
        if isinstance(latency, dict):  # the exporter's {median_ms, p95_ms, ...}
            latency = latency.get("median_ms")
        self.latency_median_ms = (
            float(latency)
            if isinstance(latency, int | float) and not isinstance(latency, bool)
            else None
        )
        passed = (self.validation_metrics or {}).get("passed")
        self.validation_passed = passed if isinstance(passed, bool) else None
        return self


class ExportDownload(BaseModel):
    url: str
    expires_at: datetime
    filename: str


class Capabilities(BaseModel):
    """What a runner's workers can do, as they reported it (`python -m functions
    capabilities` where they run), and when."""

    runner: str
    taken_at: datetime | None = Field(description="when the workers reported this")
    gpu: bool = Field(description="whether its jobs can have an NVIDIA GPU")
    gpu_info: dict[str, Any] = Field(
        description="devices its workers see (one name each), or for a runner that "
        "provisions GPUs per job, the types a job may ask for, the most per job, the default"
    )
    # framework -> format -> {supported, route ("native" | "via_onnx"), reason}
    frameworks: dict[str, dict[str, dict[str, Any]]]
    trains: dict[str, dict[str, Any]] = Field(description="framework -> {supported, reason}")
    quantizations: dict[str, dict[str, Any]] = Field(description="of the ONNX export")
    versions: dict[str, str | None]
    python: str
    platform: str
    error: str | None = Field(
        default=None, description="why the last attempt to ask the workers again failed"
    )
