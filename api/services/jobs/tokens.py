"""Job-scoped callback tokens: a function can report on its own job and attempt, nothing
else, and only until the token expires."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from api.auth.tokens import decode_token, encode_token
from api.db.models import JobKind
from api.errors import Forbidden, Unauthorized
from api.settings import Settings

TYP = "job"


@dataclass(frozen=True)
class JobClaims:
    job_id: uuid.UUID
    kind: JobKind
    attempt: int


def create(
    settings: Settings, job_id: uuid.UUID, kind: JobKind, attempt: int, ttl_seconds: int
) -> str:
    return encode_token(
        settings,
        subject=str(job_id),
        typ=TYP,
        ttl=timedelta(seconds=ttl_seconds),
        claims={"kind": kind.value, "attempt": attempt},
    )


def verify(settings: Settings, token: str | None, job_id: uuid.UUID) -> JobClaims:
    """The token's claims when it is a valid token for `job_id`.

    Unauthorized (401) when missing, forged or expired; Forbidden (403) when it is
    valid but for another job.
    """
    if not token:
        raise Unauthorized("A job callback token is required", code="not_authenticated")
    claims = decode_token(settings, token, typ=TYP)
    try:
        claimed = JobClaims(
            uuid.UUID(claims["sub"]), JobKind(claims["kind"]), int(claims["attempt"])
        )
    except (KeyError, ValueError) as exc:
        raise Unauthorized("Invalid job token", code="invalid_token") from exc
    if claimed.job_id != job_id:
        raise Forbidden("This token is for another job", code="wrong_job")
    return claimed
