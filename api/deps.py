"""Typed dependencies, read like nouns in a route's signature.

The database layer is imported inside the functions, not here: routes are built
without SQLAlchemy (see `api/lazy.py`). Type checkers see the real types.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

from anyio import CancelScope
from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from api.auth.tokens import decode_token
from api.errors import Forbidden, Unauthorized
from api.roles import ROLE_RANK, UserRole
from api.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from api.db.models import User


async def get_db() -> AsyncIterator[Session]:
    """One session per request, rolled back if not committed.

    A coroutine, not a plain generator (which FastAPI enters and exits in a worker
    thread each, two thread hops per request): making a session does no I/O, nor does
    closing one that holds no connection (the route committed, or never queried). Only
    closing one mid-transaction (a rollback on the wire) goes to a thread, shielded so a
    client hanging up cannot leave the connection checked out.
    """
    from api.db.session import new_session

    session = new_session()
    try:
        yield session
    finally:
        if session.in_transaction():
            with CancelScope(shield=True):
                await run_in_threadpool(session.close)
        else:
            session.close()


if TYPE_CHECKING:
    SessionDep = Annotated[Session, Depends(get_db)]
else:  # FastAPI reads only the Depends; the type is for readers and mypy
    SessionDep = Annotated[Any, Depends(get_db)]


async def current_settings() -> Settings:
    """The process settings. A coroutine on purpose: FastAPI runs plain functions in a
    thread, and a thread hop per request costs more than reading a cached object."""
    return get_settings()


SettingsDep = Annotated[Settings, Depends(current_settings)]

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)


def get_current_user(
    db: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(_bearer)]
) -> User:
    from api.db.models import User

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


def require_role(minimum: UserRole):  # type: ignore[no-untyped-def]
    """A dependency admitting users whose role ranks at least `minimum`."""

    def check(user: Annotated[Any, Depends(get_current_user)]) -> User:
        if ROLE_RANK[user.role] < ROLE_RANK[minimum]:
            raise Forbidden(f"This needs the {minimum.value} role or higher")
        return user  # type: ignore[no-any-return]

    return check


if TYPE_CHECKING:
    CurrentUser = Annotated[User, Depends(get_current_user)]
    UserManager = Annotated[User, Depends(require_role(UserRole.MANAGER))]
else:
    CurrentUser = Annotated[Any, Depends(get_current_user)]
    UserManager = Annotated[Any, Depends(require_role(UserRole.MANAGER))]
