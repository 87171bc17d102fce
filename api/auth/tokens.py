"""Signed JWTs. Every token names its purpose (`typ`) so one kind is never accepted
as another: a user's access token is not a job's callback token."""

from __future__ import annotations

import time
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


# Tokens whose signature verified, by (key, algorithm, token). A worker sends the same
# callback token with every heartbeat and a client its login with every call, and
# PyJWT's checks were the largest single cost of a heartbeat. A signature verified once
# stays verified, so a hit only checks the expiry again. Forged tokens never enter;
# the cache is emptied when full.
_VERIFIED: dict[tuple[str, str, str], dict[str, Any]] = {}
_VERIFIED_MAX = 10_000


def decode_token(settings: Settings, token: str, *, typ: str) -> dict[str, Any]:
    """The token's claims; raises Unauthorized when it is forged, expired or of another kind."""
    key = (settings.signing_key(), settings.jwt_algorithm, token)
    claims = _VERIFIED.get(key)
    if claims is None:
        claims = _verify(key[0], key[1], token)
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[key] = claims
    elif claims["exp"] <= time.time():  # as PyJWT decides it
        raise Unauthorized("Token expired", code="token_expired")
    if claims.get("typ") != typ:
        raise Unauthorized("Token of the wrong kind", code="invalid_token")
    return dict(claims)  # the cached claims stay as verified


def _verify(signing_key: str, algorithm: str, token: str) -> dict[str, Any]:
    try:
        return jwt.decode(
            token, signing_key, algorithms=[algorithm], options={"require": ["sub", "exp", "typ"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Token expired", code="token_expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("Invalid token", code="invalid_token") from exc


def create_access_token(settings: Settings, user_id: uuid.UUID, token_version: int) -> str:
    """A login for the user; it carries the user's token version (`ver`), and is refused
    once that has moved on (a password change)."""
    return encode_token(
        settings,
        subject=str(user_id),
        typ="access",
        ttl=timedelta(minutes=settings.access_token_expire_minutes),
        claims={"ver": token_version},
    )
