"""Chat to training config: a message in; a job body ready to submit, or questions, out."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import ORMModel

ChatStatus = Literal["complete", "needs_clarification"]
ParserName = Literal["llm", "rules"]


class ChatMessageCreate(BaseModel):
    message: str = Field(min_length=1, max_length=4000)
    conversation_id: uuid.UUID | None = Field(default=None, description="null starts one")


class Question(BaseModel):
    """What is still missing or was refused, and the values that would answer it."""

    field: str
    question: str
    options: list[str] | None = None


class ChatResponse(BaseModel):
    conversation_id: uuid.UUID
    status: ChatStatus
    config: dict[str, Any] | None = Field(
        description="a body for POST /api/v1/training/jobs, when complete"
    )
    partial_config: dict[str, Any]
    questions: list[Question]
    reply: str
    parser: ParserName
    fallback_reason: str | None = None


class ChatConversationSummary(ORMModel):
    id: uuid.UUID
    title: str
    status: ChatStatus
    created_at: datetime
    updated_at: datetime


class ChatConversationRead(ChatConversationSummary):
    messages: list[dict[str, Any]]
    partial_config: dict[str, Any]
    config: dict[str, Any] | None
