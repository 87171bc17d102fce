"""Conversations: each message is read (Claude, else the rules), merged into the
conversation's state, checked, answered and stored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import ChatConversation, User
from api.errors import Conflict
from api.schemas.chat import (
    ChatConversationRead,
    ChatConversationSummary,
    ChatMessageCreate,
    ChatResponse,
    Question,
)
from api.schemas.common import Page, PageParams
from api.services import ownership
from api.services.chat import context, llm, patch, rules
from api.services.chat.context import DatasetInfo
from api.services.chat.patch import ModelRequest
from api.services.chat.resolve import Resolution, resolve
from api.services.chat.wording import language_of, say
from api.services.pagination import paginate
from api.settings import Settings

log = structlog.get_logger("api.chat")

# A conversation this long has gone astray; a new one starts from a clean state.
MAX_MESSAGES = 200


@dataclass
class _Outcome:
    resolution: Resolution
    questions: list[Question]
    parser: str


def send(db: Session, settings: Settings, user: User, req: ChatMessageCreate) -> ChatResponse:
    """Read `req.message` into the conversation (a new one when no id is given) and
    answer with a job body or questions. NotFound for another user's conversation;
    Claude's failures fall back to the rules and never fail the request."""
    answer, fallback_reason = None, None
    if settings.anthropic_api_key:
        answer, fallback_reason = _ask_claude(db, settings, user, req)
    # The state is read (again) under a row lock only now: no transaction, connection or
    # lock is held while Claude thinks, and two messages at once apply one after the other.
    if req.conversation_id:
        conv = _for_write_locked(db, user, req.conversation_id)
    else:
        conv = ChatConversation(user_id=user.id, title=req.message.strip()[:255] or "chat",
                                messages=[], partial_config={}, hints={})  # fmt: skip
        db.add(conv)
    _check_room(conv)
    datasets = context.readable_datasets(db, user)
    lang = language_of(req.message)
    outcome = None
    if answer is not None:
        try:
            outcome = _with_claude(conv, datasets, answer, lang)
        except llm.LLMFailure as exc:
            fallback_reason = exc.reason
    if fallback_reason:
        log.warning("chat_llm_fallback", reason=fallback_reason)
    if outcome is None:
        outcome = _with_rules(conv, datasets, req.message, lang)
    r = outcome.resolution
    status = "complete" if r.body is not None and not outcome.questions else "needs_clarification"
    config = r.body if status == "complete" else None
    reply = _reply(r, outcome.questions, lang)
    now = datetime.now(UTC).isoformat()
    conv.messages = [
        *conv.messages,
        {"role": "user", "content": req.message, "at": now},
        {"role": "assistant", "content": reply, "at": now, "status": status,
         "parser": outcome.parser, "fallback_reason": fallback_reason,
         "questions": [q.model_dump() for q in outcome.questions]},
    ]  # fmt: skip
    conv.partial_config, conv.hints = r.partial, r.hints
    conv.status, conv.config = status, config
    conv.updated_at = datetime.now(UTC)
    db.commit()
    return ChatResponse(
        conversation_id=conv.id,
        status=status,  # type: ignore[arg-type]
        config=config,
        partial_config=r.partial,
        questions=outcome.questions,
        reply=reply,
        parser=outcome.parser,  # type: ignore[arg-type]
        fallback_reason=fallback_reason,
    )


def _with_rules(
    conv: ChatConversation, datasets: list[DatasetInfo], message: str, lang: str
) -> _Outcome:
    pending = conv.hints.get("model")
    found = rules.parse(message, datasets, ModelRequest.from_json(pending) if pending else None)
    partial, hints = patch.apply(conv.partial_config, conv.hints, found)
    r = resolve(partial, hints, datasets, lang)
    return _Outcome(resolution=r, questions=r.questions, parser="rules")


def _check_room(conv: ChatConversation) -> None:
    if len(conv.messages) + 2 > MAX_MESSAGES:
        raise Conflict("This conversation is full: start a new one", code="conversation_full")


def _ask_claude(
    db: Session, settings: Settings, user: User, req: ChatMessageCreate
) -> tuple[llm.LLMAnswer | None, str | None]:
    """Claude's reading of the message against the conversation as it is now, or why
    there is none. The read transaction ends before the call."""
    partial: dict[str, object] = {}
    history: list[dict[str, object]] = []
    if req.conversation_id:
        conv = ownership.get_for_write(db, ChatConversation, req.conversation_id, user)
        _check_room(conv)
        partial, history = dict(conv.partial_config), list(conv.messages)
    datasets = context.readable_datasets(db, user)
    db.rollback()
    try:
        return llm.ask_claude(settings, datasets, partial, history, req.message), None
    except llm.LLMFailure as exc:
        return None, exc.reason


def _touched(p: patch.Patch) -> set[str]:
    fields = {f"config.{k}" for k in p.config}
    for name in ("dataset_id", "task_type", "framework", "preset"):
        if getattr(p, name):
            fields.add(name)
    if p.model is not None:
        fields.add("model_name")
    return fields


def _with_claude(
    conv: ChatConversation, datasets: list[DatasetInfo], answer: llm.LLMAnswer, lang: str
) -> _Outcome:
    """Claude's answer applied to the conversation and checked like any other patch
    (against datasets read again, under the lock); LLMFailure when a value it gave is
    refused."""
    partial, hints = patch.apply(conv.partial_config, conv.hints, answer.patch)
    r = resolve(partial, hints, datasets, lang)
    refused = [(f, why) for f, why in r.rejected if f in _touched(answer.patch)]
    if refused:
        field, why = refused[0]
        raise llm.LLMFailure(f"Claude's {field} was refused: {why}")
    asked = {q.field for q in answer.questions}
    questions = [*answer.questions, *(q for q in r.questions if q.field not in asked)]
    return _Outcome(resolution=r, questions=questions, parser="llm")


def _reply(r: Resolution, questions: list[Question], lang: str) -> str:
    if r.body is not None and not questions:
        c = r.body["config"]
        size = c.get("image_size")
        return say(
            lang, "complete", framework=r.body["framework"], model=r.body["model_name"],
            dataset=r.dataset.name if r.dataset else r.body["dataset_id"],
            task=r.body["task_type"], epochs=c["epochs"], batch_size=c["batch_size"],
            learning_rate=c["learning_rate"],
            image_size=say(lang, "image_size", value=size) if size else "",
        )  # fmt: skip
    return say(lang, "needs", questions=" ".join(q.question for q in questions))


def _for_write_locked(db: Session, user: User, conversation_id: uuid.UUID) -> ChatConversation:
    ownership.get_for_write(db, ChatConversation, conversation_id, user)
    # Two messages at once to one conversation are applied one after the other.
    conv = db.get(ChatConversation, conversation_id, with_for_update=True, populate_existing=True)
    assert conv is not None
    return conv


def list_for(db: Session, user: User, page: PageParams) -> Page[ChatConversationSummary]:
    """The user's own conversations, most recently active first."""
    query = select(ChatConversation).where(ChatConversation.user_id == user.id)
    return paginate(db, query, page, ChatConversationSummary,
                    ChatConversation.updated_at.desc(), ChatConversation.id)  # fmt: skip


def read(db: Session, user: User, conversation_id: uuid.UUID) -> ChatConversationRead:
    conv = ownership.get_for_read(db, ChatConversation, conversation_id, user)
    return ChatConversationRead.model_validate(conv)


def delete(db: Session, user: User, conversation_id: uuid.UUID) -> None:
    conv = ownership.get_for_write(db, ChatConversation, conversation_id, user)
    db.delete(conv)
    db.commit()
