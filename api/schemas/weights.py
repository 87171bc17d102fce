"""Pretrained weights a user uploads, and how they are read back."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from api.schemas.common import ORMModel, TaskType

Visibility = Literal["private", "public"]


class WeightMeta(BaseModel):
    """What a user says about an uploaded weights file (the form fields)."""

    name: str = Field(min_length=1, max_length=255)
    framework: str = Field(min_length=1, max_length=64)
    base_architecture: str = Field(min_length=1, max_length=255)
    task_types: list[TaskType] | None = Field(
        default=None, description="None: the catalog model's tasks"
    )
    description: str | None = Field(default=None, max_length=2000)
    pretraining_dataset: str | None = Field(default=None, max_length=255)
    num_classes: int | None = Field(default=None, ge=1, le=1_000_000)
    visibility: Visibility = "private"

    @field_validator("task_types", mode="before")
    @classmethod
    def _json_or_comma_list(cls, value: Any) -> Any:
        """A form sends a string: a JSON list, or names separated by commas."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return None
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a JSON list ({exc.msg})") from None
        return [part.strip() for part in text.split(",") if part.strip()]


class WeightUpdate(BaseModel):
    # Omitted means unchanged; a weights file keeps a name.
    name: str = Field(default=None, min_length=1, max_length=255)  # type: ignore[assignment]
    description: str | None = Field(default=None, max_length=2000)
    visibility: Visibility = Field(default=None)  # type: ignore[arg-type]


class WeightRead(ORMModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    description: str | None
    framework: str
    base_architecture: str
    task_types: list[str]
    pretraining_dataset: str | None
    num_classes: int | None
    visibility: str
    size_bytes: int
    checksum_sha256: str
    extra: dict[str, Any] | None
    download_count: int
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WeightDownload(BaseModel):
    url: str
    expires_in: int
    checksum_sha256: str
