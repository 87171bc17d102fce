"""The tables of the five kinds of job (what each kind does with them: api/services/jobs/kinds/),
what they share, and the append-only event log.

Each kind keeps its own table (their domain columns differ a lot); the columns the
dispatcher needs are the same on all of them (`DispatchedJob`). Events and attempts
refer to a job by (kind, id): a job id is a UUID, unique across kinds.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, MetricValue, Timestamps, UUIDPrimaryKey, utcnow
from api.db.models._enum import str_enum
from contract import export_formats
from contract.non_finite import NonFinite


class JobKind(enum.StrEnum):
    TRAINING = "training"
    TEST_RUN = "test_run"
    INFERENCE = "inference"
    EXPORT = "export"
    DIAGNOSTIC = "diagnostic"  # exercises dispatch only: runners, callbacks, events


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    QUEUED = "queued"  # handed to a runner, not yet heard from
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


class DispatchedJob(UUIDPrimaryKey, Timestamps):
    """Columns every job kind needs to be dispatched, watched and resumed."""

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[JobStatus] = mapped_column(
        str_enum(JobStatus), default=JobStatus.PENDING, index=True
    )
    task_type: Mapped[str] = mapped_column(String(64))
    framework: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)

    runner: Mapped[str | None] = mapped_column(String(32))  # local | docker | modal
    runner_ref: Mapped[str | None] = mapped_column(String(255))  # pid, container, call id
    resources: Mapped[dict[str, Any] | None]  # gpu type, timeout, ...
    attempt: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    last_callback_seq: Mapped[int] = mapped_column(default=0)  # within the current attempt
    last_event_seq: Mapped[int] = mapped_column(default=0)  # the job's newest job_events.seq
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(index=True)
    progress_percent: Mapped[float] = mapped_column(default=0.0)
    # Set while the job waits for one of its owner's slots (1: next); None once
    # dispatched (api/services/jobs/slots.py).
    queue_position: Mapped[int | None]

    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    error_message: Mapped[str | None] = mapped_column(Text)


class TrainingJob(DispatchedJob, Base):
    __tablename__ = "training_jobs"

    name: Mapped[str | None] = mapped_column(String(255))
    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="RESTRICT"), index=True
    )
    dataset_snapshot_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dataset_snapshots.id", ondelete="RESTRICT"), index=True
    )
    model_name: Mapped[str] = mapped_column(String(255))
    pretrained_weight_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("pretrained_weights.id", ondelete="SET NULL")
    )
    split_strategy: Mapped[dict[str, Any] | None]

    current_epoch: Mapped[int] = mapped_column(default=0)
    total_epochs: Mapped[int] = mapped_column(default=0)
    current_metrics: Mapped[dict[str, Any] | None]
    best_metrics: Mapped[dict[str, Any] | None]
    final_metrics: Mapped[dict[str, Any] | None]
    primary_metric_name: Mapped[str | None] = mapped_column(String(64))
    primary_metric_direction: Mapped[str] = mapped_column(String(8), default="maximize")
    best_epoch: Mapped[int | None]

    best_checkpoint_key: Mapped[str | None] = mapped_column(String(500))
    last_checkpoint_key: Mapped[str | None] = mapped_column(String(500))
    last_checkpoint_epoch: Mapped[int | None]
    logs_key: Mapped[str | None] = mapped_column(String(500))


class TrainingValidationResult(UUIDPrimaryKey, Base):
    """One epoch's validation of a training job, for every task type."""

    __tablename__ = "training_validation_results"
    __table_args__ = (
        UniqueConstraint(
            "training_job_id", "epoch", name="uq_training_validation_results_job_epoch"
        ),
        Index("ix_training_validation_results_job_best", "training_job_id", "is_best"),
    )

    training_job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("training_jobs.id", ondelete="CASCADE"), index=True
    )
    epoch: Mapped[int]
    task_type: Mapped[str] = mapped_column(String(64), index=True)
    primary_metric_name: Mapped[str] = mapped_column(String(64))
    # NaN and the infinities as "nan", "inf", "-inf" (a diverging run's validation loss).
    primary_metric_value: Mapped[float | NonFinite] = mapped_column(MetricValue())
    is_best: Mapped[bool] = mapped_column(default=False)
    metrics: Mapped[dict[str, Any]]
    per_class_metrics: Mapped[list[Any] | None]
    confusion_matrix: Mapped[list[Any] | None]
    pr_curves: Mapped[dict[str, Any] | None]
    image_results_key: Mapped[str | None] = mapped_column(String(500))
    num_images_validated: Mapped[int] = mapped_column(default=0)
    validation_time_seconds: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TestRun(DispatchedJob, Base):
    """Inference on a labelled dataset, compared with its ground truth."""

    __tablename__ = "test_runs"
    __test__ = False  # not a pytest test class

    training_job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("training_jobs.id", ondelete="CASCADE"), index=True
    )
    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="RESTRICT"), index=True
    )
    dataset_snapshot_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dataset_snapshots.id", ondelete="RESTRICT"), index=True
    )
    checkpoint_key: Mapped[str | None] = mapped_column(String(500))
    enable_xai: Mapped[bool] = mapped_column(default=False)
    xai_method: Mapped[str | None] = mapped_column(String(32))
    processed_images: Mapped[int] = mapped_column(default=0)
    total_images: Mapped[int] = mapped_column(default=0)
    overall_metrics: Mapped[dict[str, Any] | None]
    per_class_metrics: Mapped[list[Any] | None]
    confusion_matrix: Mapped[list[Any] | None]
    pr_curves: Mapped[dict[str, Any] | None]
    results_key: Mapped[str | None] = mapped_column(String(500))
    visualizations_prefix: Mapped[str | None] = mapped_column(String(500))


class InferenceType(enum.StrEnum):
    SINGLE = "single"
    BATCH = "batch"
    DATASET = "dataset"


class InferenceJob(DispatchedJob, Base):
    """Predictions on unlabelled images or a dataset; no metrics."""

    __tablename__ = "inference_jobs"

    training_job_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("training_jobs.id", ondelete="CASCADE"), index=True
    )
    inference_type: Mapped[InferenceType] = mapped_column(str_enum(InferenceType))
    checkpoint_key: Mapped[str | None] = mapped_column(String(500))
    dataset_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="RESTRICT"), index=True
    )
    dataset_snapshot_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dataset_snapshots.id", ondelete="RESTRICT"), index=True
    )
    image_keys: Mapped[list[Any] | None]
    enable_xai: Mapped[bool] = mapped_column(default=False)
    xai_method: Mapped[str | None] = mapped_column(String(32))
    processed_images: Mapped[int] = mapped_column(default=0)
    total_images: Mapped[int] = mapped_column(default=0)
    results_key: Mapped[str | None] = mapped_column(String(500))
    visualizations_prefix: Mapped[str | None] = mapped_column(String(500))


# A member per module in contract/export_formats/ (ONNX = "onnx", ...). The column is a
# VARCHAR(32) without a CHECK constraint (str_enum), so a new format needs no migration.
ExportFormat = enum.StrEnum(  # type: ignore[misc]
    "ExportFormat", {name.upper(): name for name in export_formats.names()}
)


class ExportJob(DispatchedJob, Base):
    __tablename__ = "export_jobs"
    __table_args__ = (
        UniqueConstraint("training_job_id", "version", name="uq_export_jobs_job_version"),
    )

    training_job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("training_jobs.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]  # 1, 2, 3 ... per training job
    version_tag: Mapped[str | None] = mapped_column(String(100))
    is_default: Mapped[bool] = mapped_column(default=False)
    format: Mapped[ExportFormat] = mapped_column(str_enum(ExportFormat), index=True)
    checkpoint_key: Mapped[str | None] = mapped_column(String(500))
    # What validation after export (and static INT8 calibration) reads.
    dataset_snapshot_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dataset_snapshots.id", ondelete="RESTRICT"), index=True
    )
    validation_config: Mapped[dict[str, Any] | None]
    validation_metrics: Mapped[dict[str, Any] | None]
    export_key: Mapped[str | None] = mapped_column(String(500))
    metadata_key: Mapped[str | None] = mapped_column(String(500))
    package_key: Mapped[str | None] = mapped_column(String(500))
    checksum_sha256: Mapped[str | None] = mapped_column(String(64))
    model_info: Mapped[dict[str, Any] | None]


class DiagnosticJob(DispatchedJob, Base):
    """A job that only exercises dispatch: it sends heartbeats and events, sleeps, and
    fails or crashes when asked. Operators use it to check a runner end to end."""

    __tablename__ = "diagnostic_jobs"

    name: Mapped[str | None] = mapped_column(String(255))


class JobEvent(Base):
    """Append-only log of everything that happened to a job; SSE streams read it.

    `seq` numbers a job's events 1, 2, 3 ... with no gaps: it is the SSE event id.
    """

    __tablename__ = "job_events"
    __table_args__ = (UniqueConstraint("job_id", "seq", name="uq_job_events_job_seq"),)

    # BigInteger on PostgreSQL; SQLite only auto-increments an INTEGER primary key.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    job_id: Mapped[uuid.UUID] = mapped_column(index=True)
    job_kind: Mapped[JobKind] = mapped_column(str_enum(JobKind))
    seq: Mapped[int]
    attempt: Mapped[int] = mapped_column(default=0)
    type: Mapped[str] = mapped_column(String(64))  # status, heartbeat, log, checkpoint, ...
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobAttempt(UUIDPrimaryKey, Base):
    """One run of a job's function; a lost worker's job resumes in the next one."""

    __tablename__ = "job_attempts"
    __table_args__ = (UniqueConstraint("job_id", "attempt", name="uq_job_attempts_job_attempt"),)

    job_id: Mapped[uuid.UUID] = mapped_column(index=True)
    job_kind: Mapped[JobKind] = mapped_column(str_enum(JobKind))
    attempt: Mapped[int]
    runner: Mapped[str] = mapped_column(String(32))
    runner_ref: Mapped[str | None] = mapped_column(String(255))
    resumed_from_epoch: Mapped[int | None]
    outcome: Mapped[str | None] = mapped_column(String(32))  # succeeded | failed | lost | cancelled
    reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    compute_seconds: Mapped[float | None]
