"""Chat-to-config conversations: what a user said, what was understood so far."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, Timestamps, UUIDPrimaryKey


class ChatConversation(UUIDPrimaryKey, Timestamps, Base):
    """One conversation that turns requests into a training job's body.

    `partial_config` holds only values already checked against the user's datasets, the
    catalog and the config schema; `hints` holds what the user said that is not a value
    yet (a model family without a size, say), so a follow-up can complete it.
    """

    __tablename__ = "chat_conversations"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), default="needs_clarification")
    messages: Mapped[list[Any]]
    partial_config: Mapped[dict[str, Any]]
    hints: Mapped[dict[str, Any]]
    config: Mapped[dict[str, Any] | None]  # the complete body, once there is one
