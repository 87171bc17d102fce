"""Signed JWTs. Every token names its purpose (`typ`) so one kind is never accepted
as another: a user's access token is not a job's callback token."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from api.errors import Unauthorized
from api.settings import Settings


def encode_token(
    settings: Settings,
    *,
    subject: str,
    typ: str,
    ttl: timedelta,
    claims: dict[str, Any] | None = None,
) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": subject,
        "typ": typ,
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        **(claims or {}),
    }
    return jwt.encode(payload, settings.signing_key(), algorithm=settings.jwt_algorithm)


def decode_token(settings: Settings, token: str, *, typ: str) -> dict[str, Any]:
    """The token's claims; raises Unauthorized when it is forged, expired or of another kind."""
    try:
        claims = jwt.decode(
            token,
            settings.signing_key(),
            algorithms=[settings.jwt_algorithm],
            options={"require": ["sub", "exp", "typ"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Token expired", code="token_expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("Invalid token", code="invalid_token") from exc
    if claims.get("typ") != typ:
        raise Unauthorized("Token of the wrong kind", code="invalid_token")
    return claims


def create_access_token(settings: Settings, user_id: uuid.UUID) -> str:
    return encode_token(
        settings,
        subject=str(user_id),
        typ="access",
        ttl=timedelta(minutes=settings.access_token_expire_minutes),
    )
