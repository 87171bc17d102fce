from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base


class RunnerCapabilities(Base):
    """What a runner's workers said they can do (contract/capabilities.py's
    WorkerCapabilities), and when; or why they could not be asked."""

    __tablename__ = "runner_capabilities"

    runner: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The last report that succeeded; None until one has.
    report: Mapped[dict[str, Any] | None]
    taken_at: Mapped[datetime | None]
    # The last time the runner was asked, and why it could not answer (None: it did).
    asked_at: Mapped[datetime]
    error: Mapped[str | None] = mapped_column(Text)
