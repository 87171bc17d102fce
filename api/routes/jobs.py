"""Callbacks from functions (authorised by the job-scoped token, not a login) and the
job event log for users."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentUser, SessionDep, SettingsDep
from api.schemas.common import MAX_OFFSET, SQL_INT_MAX
from api.schemas.jobs import JobEventsPage, JobRead
from api.services.jobs import callbacks, inputs, kinds, lookup, streams, tokens, viewers
from contract.jobs import (
    ArtifactRequest,
    ArtifactUrls,
    CallbackAck,
    Done,
    Event,
    Heartbeat,
    Validation,
)

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
_bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
_login = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)


async def job_claims(job_id: uuid.UUID, creds: Credentials, settings: SettingsDep) -> Any:
    """The callback's job-scoped token, checked against the job in the path (no I/O:
    a coroutine, so no thread hop)."""
    return tokens.verify(settings, creds.credentials if creds else None, job_id)


# A callback's authority: a valid token for this job (401 missing or forged, 403 another job's).
JobClaimsDep = Annotated[Any, Depends(job_claims)]


@router.post("/{job_id}/heartbeat", response_model=CallbackAck, response_model_exclude_none=True)
def heartbeat(body: Heartbeat, claims: JobClaimsDep, db: SessionDep) -> CallbackAck:
    return callbacks.heartbeat(db, claims, body)


@router.post("/{job_id}/event", response_model=CallbackAck, response_model_exclude_none=True)
def event(body: Event, claims: JobClaimsDep, db: SessionDep, settings: SettingsDep) -> CallbackAck:
    return callbacks.event(db, settings, claims, body)


@router.post("/{job_id}/validation", response_model=CallbackAck, response_model_exclude_none=True)
def validation(body: Validation, claims: JobClaimsDep, db: SessionDep) -> CallbackAck:
    return callbacks.validation(db, claims, body)


@router.post("/{job_id}/artifacts", response_model=ArtifactUrls)
def artifacts(
    body: ArtifactRequest, claims: JobClaimsDep, db: SessionDep, settings: SettingsDep
) -> ArtifactUrls:
    """Presigned PUT URLs for the files the function wants to upload (checkpoints,
    exports, results), under the job's own prefix. Workers never hold credentials."""
    return callbacks.artifacts(db, settings, claims, body)


@router.post("/{job_id}/done", response_model=CallbackAck, response_model_exclude_none=True)
def done(body: Done, claims: JobClaimsDep, db: SessionDep, settings: SettingsDep) -> CallbackAck:
    return callbacks.done(db, settings, claims, body)


@router.get("/{job_id}/inputs/files")
def input_files(
    claims: JobClaimsDep,
    db: SessionDep,
    settings: SettingsDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> dict:
    """For the job's function: a page of its dataset snapshot's files (path, size, sha256,
    presigned GET URL). Read-only, so it carries no sequence number."""
    job = callbacks.job_of(db, claims)
    return inputs.snapshot_files(db, settings, job, offset, limit)


@router.get(
    "/{job_id}/events",
    response_model=JobEventsPage,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def job_events(
    job_id: uuid.UUID,
    request: Request,
    settings: SettingsDep,
    bearer: Annotated[str | None, Depends(_login)],
    after: Annotated[int | None, Query(ge=0, le=SQL_INT_MAX)] = None,
    token: Annotated[str | None, Query(description="a stream token, for EventSource")] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> Any:
    """The job's events. As Server-Sent Events (id = seq; resume with Last-Event-ID; the
    stream ends after the job's last event) unless `after` is given without asking for
    `text/event-stream`: then the events after `after` as JSON."""
    from sse_starlette import EventSourceResponse

    job = await run_in_threadpool(viewers.authorize, settings, job_id, bearer, token)
    kind = kinds.kind_of(job)
    wants_stream = "text/event-stream" in request.headers.get("accept", "")
    if after is not None and not wants_stream:
        page = await run_in_threadpool(streams.read_page, settings, kind, job.id, after)
        return page
    start = after or 0
    # An id this API sent (a seq); anything else, or past any seq, is no id at all.
    if last_event_id and last_event_id.isascii() and last_event_id.isdigit():
        seq = int(last_event_id)
        start = seq if seq <= SQL_INT_MAX else start
    stream = streams.sse(settings, kind, job.id, start)
    return EventSourceResponse(stream, ping=settings.sse_ping_seconds)


@router.post("/{job_id}/stream-token")
def create_stream_token(
    job_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> dict:
    """A token for `?token=` on the events stream, valid 5 minutes, for this job only."""
    lookup.get_for_read(db, user, job_id)
    return {
        "token": viewers.stream_token(settings, user, job_id),
        "expires_in": viewers.TTL_SECONDS,
    }


@router.post("/{job_id}/cancel", response_model=JobRead)
def cancel_job(
    job_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    """Cancel a job of any kind: it ends `cancelled` and its run is stopped within seconds.
    409 when it already ended."""
    job = lookup.get_for_read(db, user, job_id)
    return lookup.cancel(db, settings, user, type(job), job_id)
