"""Typed dependencies, read like nouns in a route's signature."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from api.auth.tokens import decode_token
from api.db.models import ROLE_RANK, User, UserRole
from api.db.session import get_db
from api.errors import Forbidden, Unauthorized
from api.settings import Settings, get_settings

SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)


def get_current_user(
    db: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(_bearer)]
) -> User:
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
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(minimum: UserRole):  # type: ignore[no-untyped-def]
    """A dependency admitting users whose role ranks at least `minimum`."""

    def check(user: CurrentUser) -> User:
        if ROLE_RANK[user.role] < ROLE_RANK[minimum]:
            raise Forbidden(f"This needs the {minimum.value} role or higher")
        return user

    return check


UserManager = Annotated[User, Depends(require_role(UserRole.MANAGER))]
