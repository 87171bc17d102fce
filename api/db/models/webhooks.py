from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, Timestamps, UUIDPrimaryKey, utcnow


class Webhook(UUIDPrimaryKey, Timestamps, Base):
    """A user's URL that receives signed POSTs for the event types it subscribes to."""

    __tablename__ = "webhooks"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[Any]]
    # Kept in clear: the API needs it to sign every delivery (HMAC-SHA256).
    secret: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(String(1000))
    is_active: Mapped[bool] = mapped_column(default=True)


class WebhookDelivery(UUIDPrimaryKey, Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    webhook_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(128))  # idempotency key for the receiver
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|succeeded|failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_response_ms: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    delivered_at: Mapped[datetime | None]
