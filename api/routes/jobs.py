"""Callbacks from functions (authorised by the job-scoped token, not a login) and the
job event log for users."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import CurrentUser, SessionDep, SettingsDep
from api.lazy import lazy_module
from api.schemas.jobs import JobEventsPage
from contract.jobs import CallbackAck, Done, Event, Heartbeat

if TYPE_CHECKING:
    from api.services.jobs import callbacks, events, lookup, tokens
else:
    callbacks = lazy_module("api.services.jobs.callbacks")
    events = lazy_module("api.services.jobs.events")
    lookup = lazy_module("api.services.jobs.lookup")
    tokens = lazy_module("api.services.jobs.tokens")

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
_bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@router.post("/{job_id}/heartbeat", response_model=CallbackAck)
def heartbeat(
    job_id: uuid.UUID, body: Heartbeat, creds: Credentials, db: SessionDep, settings: SettingsDep
) -> CallbackAck:
    claims = tokens.verify(settings, creds.credentials if creds else None, job_id)
    return callbacks.heartbeat(db, claims, body)


@router.post("/{job_id}/event", response_model=CallbackAck)
def event(
    job_id: uuid.UUID, body: Event, creds: Credentials, db: SessionDep, settings: SettingsDep
) -> CallbackAck:
    claims = tokens.verify(settings, creds.credentials if creds else None, job_id)
    return callbacks.event(db, claims, body)


@router.post("/{job_id}/done", response_model=CallbackAck)
def done(
    job_id: uuid.UUID, body: Done, creds: Credentials, db: SessionDep, settings: SettingsDep
) -> CallbackAck:
    claims = tokens.verify(settings, creds.credentials if creds else None, job_id)
    return callbacks.done(db, claims, body)


@router.get("/{job_id}/events", response_model=JobEventsPage)
def list_events(
    job_id: uuid.UUID,
    user: CurrentUser,
    db: SessionDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> JobEventsPage:
    """The job's events after `after`, oldest first, as JSON (for clients that cannot
    stream Server-Sent Events)."""
    from api.db.models import TERMINAL_STATUSES

    job = lookup.get_for_read(db, user, job_id)
    rows = events.after(db, job.id, after, limit)
    return JobEventsPage(
        events=[events.as_dict(e) for e in rows],  # type: ignore[misc]
        last_seq=rows[-1].seq if rows else after,
        terminal=job.status in TERMINAL_STATUSES
        and (not rows or rows[-1].seq == job.last_event_seq),
    )
