"""Whose login a bearer token is: the one check behind every route that needs a user,
and behind the services that read a login themselves (event streams, usage)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from api.auth.tokens import decode_token
from api.db.models import User
from api.errors import Unauthorized
from api.settings import Settings


def user_for_token(db: Session, settings: Settings, token: str | None) -> User:
    """The active user whose access `token` this is.

    Unauthorized (401) without a token, for an invalid or expired one, for a disabled or
    deleted account, and for a login that a password change has ended.
    """
    if not token:
        raise Unauthorized("Not authenticated", code="not_authenticated")
    claims = decode_token(settings, token, typ="access")
    try:
        user_id = uuid.UUID(claims["sub"])
    except ValueError as exc:
        raise Unauthorized("Invalid token", code="invalid_token") from exc
    user = db.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthorized("Account not found or disabled", code="invalid_token")
    # Tokens from before the version existed carry none: version 0, every user's first.
    if claims.get("ver", 0) != user.token_version:
        raise Unauthorized(
            "This login ended when the password changed; log in again", code="token_revoked"
        )
    return user
