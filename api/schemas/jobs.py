from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from api.schemas.common import ORMModel
from api.services.jobs.runners import RunnerName


class JobRead(ORMModel):
    """What every kind of job shows about its dispatch."""

    id: uuid.UUID
    user_id: uuid.UUID
    status: str
    runner: str | None
    attempt: int
    max_attempts: int
    progress_percent: float
    # While the job waits for one of its owner's slots: its place in line (1: next).
    queue_position: int | None = None
    error_message: str | None
    last_heartbeat_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class DiagnosticJobCreate(BaseModel):
    name: str | None = Field(default=None, max_length=255)
    heartbeats: int = Field(default=3, ge=0, le=10_000)
    interval: float = Field(default=0.2, ge=0, le=600)
    fail: bool = False
    crash_after: int | None = Field(default=None, ge=1)
    runner: RunnerName | None = None
    max_attempts: int = Field(default=1, ge=1, le=10)
    timeout_seconds: int = Field(default=3600, ge=10, le=7 * 24 * 3600)

    @model_validator(mode="after")
    def _fits_its_timeout(self) -> DiagnosticJobCreate:
        if self.heartbeats * self.interval > self.timeout_seconds:
            raise ValueError(
                f"heartbeats x interval ({self.heartbeats * self.interval:g} s) must fit in "
                f"timeout_seconds ({self.timeout_seconds})"
            )
        return self


class DiagnosticJobRead(JobRead):
    name: str | None
    config: dict[str, Any]


class JobEventRead(BaseModel):
    seq: int
    type: str
    attempt: int
    data: dict[str, Any]
    created_at: str


class JobEventsPage(BaseModel):
    events: list[JobEventRead]
    last_seq: int  # pass it as `after` to get what comes next
    terminal: bool  # the job has ended: no more events will come


class RunnerRead(BaseModel):
    """A runner this API can dispatch to, and when its workers last said what they can do."""

    name: str
    default: bool  # the installation's EXECUTION_BACKEND
    taken_at: datetime | None  # the last report kept
    asked_at: datetime | None  # the last time its workers were asked
    error: str | None  # why they did not answer then
