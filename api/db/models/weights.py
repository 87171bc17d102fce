from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, Timestamps, UUIDPrimaryKey
from api.db.models._enum import str_enum
from api.db.models.datasets import Visibility


class PretrainedWeight(UUIDPrimaryKey, Timestamps, Base):
    """Weights a user uploaded (hubs are unreachable in air-gapped installs)."""

    __tablename__ = "pretrained_weights"
    __table_args__ = (
        Index("ix_pretrained_weights_framework_visibility", "framework", "visibility"),
    )

    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )
    visibility: Mapped[Visibility] = mapped_column(str_enum(Visibility), default=Visibility.PRIVATE)
    name: Mapped[str] = mapped_column(String(255))
    framework: Mapped[str] = mapped_column(String(64), index=True)
    base_architecture: Mapped[str] = mapped_column(String(255))
    task_types: Mapped[list[Any]]
    pretraining_dataset: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(2000))
    num_classes: Mapped[int | None]
    input_size: Mapped[list[Any] | None]
    storage_key: Mapped[str] = mapped_column(String(500))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    checksum_sha256: Mapped[str] = mapped_column(String(64))
    download_count: Mapped[int] = mapped_column(default=0)
    last_used_at: Mapped[datetime | None]
    extra: Mapped[dict[str, Any] | None]
