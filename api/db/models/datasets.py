from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, Timestamps, UUIDPrimaryKey, utcnow
from api.db.models._enum import str_enum


class DatasetFormat(enum.StrEnum):
    IMAGEFOLDER = "imagefolder"
    YOLO = "yolo"
    COCO = "coco"
    PASCAL_VOC = "pascal_voc"
    SEMANTIC_MASKS = "semantic_masks"


class DatasetStatus(enum.StrEnum):
    UPLOADING = "uploading"
    PROCESSING = "processing"
    READY = "ready"
    ERROR = "error"


class Visibility(enum.StrEnum):
    PRIVATE = "private"
    PUBLIC = "public"  # readable by every user, changed only by its owner


class Dataset(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "datasets"

    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    visibility: Mapped[Visibility] = mapped_column(
        str_enum(Visibility), default=Visibility.PRIVATE, index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(2000))

    # Unknown until the upload is inspected, when the user leaves it to auto-detection.
    format: Mapped[DatasetFormat | None] = mapped_column(str_enum(DatasetFormat))
    format_detection: Mapped[dict[str, Any] | None]  # what was found and why
    task_type: Mapped[str | None] = mapped_column(String(64))
    labeled: Mapped[bool] = mapped_column(default=False)

    num_images: Mapped[int] = mapped_column(default=0)
    num_classes: Mapped[int | None]
    class_names: Mapped[list[Any] | None]
    stats: Mapped[dict[str, Any] | None]  # per split / per class counts, image sizes
    split_config: Mapped[dict[str, Any] | None]

    storage_prefix: Mapped[str] = mapped_column(String(500))  # datasets/{id}/
    original_key: Mapped[str | None] = mapped_column(String(1024))  # the upload as sent
    manifest_key: Mapped[str | None] = mapped_column(String(1024))
    upload_id: Mapped[str | None] = mapped_column(String(1024))  # direct upload in progress
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)

    status: Mapped[DatasetStatus] = mapped_column(
        str_enum(DatasetStatus), default=DatasetStatus.UPLOADING, index=True
    )
    validation_errors: Mapped[dict[str, Any] | None]  # {"count": n, "errors": [...first k...]}


class DatasetSnapshot(UUIDPrimaryKey, Base):
    """A frozen manifest of a dataset plus a sha256 of every file: what a job trains on."""

    __tablename__ = "dataset_snapshots"
    __table_args__ = (
        UniqueConstraint("dataset_id", "version_tag", name="uq_dataset_snapshots_tag"),
    )

    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    snapshot_type: Mapped[str] = mapped_column(String(32))  # "training" | "manual"
    version_tag: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(32), default="valid")  # valid | broken
    integrity_status: Mapped[dict[str, Any] | None]
    num_images: Mapped[int] = mapped_column(default=0)
    manifest_key: Mapped[str] = mapped_column(String(500))
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
