"""Who may watch a job's events: its owner by login, or a browser holding a short-lived
stream token (EventSource cannot send an Authorization header)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from api.auth.logins import user_for_token
from api.auth.tokens import decode_token, encode_token
from api.db.models import User
from api.db.session import new_session
from api.errors import Forbidden, Unauthorized
from api.services.jobs import lookup
from api.settings import Settings

TYP = "stream"
TTL_SECONDS = 300


def stream_token(settings: Settings, user: User, job_id: uuid.UUID) -> str:
    return encode_token(
        settings,
        subject=str(job_id),
        typ=TYP,
        ttl=timedelta(seconds=TTL_SECONDS),
        claims={"uid": str(user.id)},
    )


def authorize(settings: Settings, job_id: uuid.UUID, bearer: str | None, token: str | None) -> Any:
    """The job, when the login (`bearer`) or the stream `token` may read it.

    Unauthorized without either; NotFound for a job the user may not see; a stream
    token for another job is Forbidden. Uses its own short session: a stream outlives
    its request's dependencies.
    """
    with new_session(settings) as db:
        if bearer:
            user = user_for_token(db, settings, bearer)
        elif token:
            claims = decode_token(settings, token, typ=TYP)
            if claims.get("sub") != str(job_id):
                raise Forbidden("This stream token is for another job", code="wrong_job")
            holder = db.get(User, uuid.UUID(claims["uid"]))
            if holder is None or not holder.is_active:
                raise Unauthorized("Account not found or disabled", code="invalid_token")
            user = holder
        else:
            raise Unauthorized("Not authenticated", code="not_authenticated")
        job = lookup.get_for_read(db, user, job_id)
        db.expunge(job)
        return job
