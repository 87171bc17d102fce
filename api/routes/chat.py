"""Chat to training config: a message in, a validated configuration or questions out."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from api.deps import CurrentUser, SessionDep, SettingsDep
from api.schemas.chat import (
    ChatConversationRead,
    ChatConversationSummary,
    ChatMessageCreate,
    ChatResponse,
)
from api.schemas.common import Page, PageParams
from api.services.chat import conversation

router = APIRouter(prefix="/api/v1/chat", tags=["chat"])


@router.post("/message", response_model=ChatResponse)
def send_message(
    data: ChatMessageCreate, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> ChatResponse:
    """Read a request ("fine-tune a ResNet-50 on my cat-dog dataset for 10 epochs") into
    the conversation (`conversation_id` null starts one). `status` "complete" comes with
    `config`, a body for POST /api/v1/training/jobs checked as job creation checks it;
    otherwise `questions` say what is missing. Claude reads it when a key is set; the
    rule-based parser otherwise, or when Claude fails (`fallback_reason` says why)."""
    return conversation.send(db, settings, user, data)


@router.get("/conversations", response_model=Page[ChatConversationSummary])
def list_conversations(
    user: CurrentUser, db: SessionDep, page: Annotated[PageParams, Depends()]
) -> Page[ChatConversationSummary]:
    """Your conversations, most recently active first."""
    return conversation.list_for(db, user, page)


@router.get("/conversations/{conversation_id}", response_model=ChatConversationRead)
def get_conversation(
    conversation_id: uuid.UUID, user: CurrentUser, db: SessionDep
) -> ChatConversationRead:
    return conversation.read(db, user, conversation_id)


@router.delete("/conversations/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_conversation(conversation_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> Response:
    conversation.delete(db, user, conversation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
