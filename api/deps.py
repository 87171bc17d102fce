"""Typed dependencies, read like nouns in a route's signature."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from anyio import CancelScope
from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth.logins import user_for_token
from api.db.models import User
from api.db.session import new_session
from api.errors import Forbidden
from api.roles import ROLE_RANK, UserRole
from api.settings import Settings, get_settings


async def get_db() -> AsyncIterator[Session]:
    """One session per request, rolled back if not committed.

    A coroutine, not a plain generator (which FastAPI enters and exits in a worker
    thread each, two thread hops per request): making a session does no I/O, nor does
    closing one that holds no connection (the route committed, or never queried). Only
    closing one mid-transaction (a rollback on the wire) goes to a thread, shielded so a
    client hanging up cannot leave the connection checked out.
    """
    session = new_session()
    try:
        yield session
    finally:
        if session.in_transaction():
            with CancelScope(shield=True):
                await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_db)]


async def current_settings() -> Settings:
    """The process settings. A coroutine on purpose: FastAPI runs plain functions in a
    thread, and a thread hop per request costs more than reading a cached object."""
    return get_settings()


SettingsDep = Annotated[Settings, Depends(current_settings)]

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)


def get_current_user(
    db: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(_bearer)]
) -> User:
    return user_for_token(db, settings, token)


def require_role(minimum: UserRole):  # type: ignore[no-untyped-def]
    """A dependency admitting users whose role ranks at least `minimum`."""

    def check(user: Annotated[Any, Depends(get_current_user)]) -> User:
        if ROLE_RANK[user.role] < ROLE_RANK[minimum]:
            raise Forbidden(f"This needs the {minimum.value} role or higher")
        return user  # type: ignore[no-any-return]

    return check


CurrentUser = Annotated[User, Depends(get_current_user)]
UserManager = Annotated[User, Depends(require_role(UserRole.MANAGER))]
