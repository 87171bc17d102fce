from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, Field

from api.schemas.common import ORMModel

EventType = Literal[
    "*", "job.completed", "job.failed", "job.cancelled", "dataset.ready", "dataset.error"
]


class WebhookCreate(BaseModel):
    url: AnyHttpUrl
    event_types: list[EventType] = Field(min_length=1)
    description: str | None = Field(default=None, max_length=1000)


class WebhookUpdate(BaseModel):
    url: AnyHttpUrl = Field(default=None)  # type: ignore[assignment]
    event_types: list[EventType] = Field(default=None, min_length=1)  # type: ignore[arg-type]
    description: str | None = Field(default=None, max_length=1000)
    is_active: bool = Field(default=None)  # type: ignore[assignment]


class WebhookRead(ORMModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    is_active: bool
    created_at: datetime


class WebhookCreated(WebhookRead):
    secret: str  # shown once: it signs every delivery


class DeliveryRead(ORMModel):
    id: uuid.UUID
    event_type: str
    event_id: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    last_response_ms: float | None
    created_at: datetime
    delivered_at: datetime | None
