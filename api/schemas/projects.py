from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.common import ORMModel, TaskType


class ProjectCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=2000)
    task_type: TaskType | None = None


class ProjectUpdate(BaseModel):
    # Omitted means unchanged; an explicit null is refused (a project needs a name).
    name: str = Field(default=None, min_length=1, max_length=255)  # type: ignore[assignment]
    description: str | None = Field(default=None, max_length=2000)
    task_type: TaskType | None = None


class ProjectRead(ORMModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    description: str | None
    task_type: str | None
    created_at: datetime
    updated_at: datetime
