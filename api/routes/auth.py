from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from api.auth.tokens import create_access_token
from api.deps import CurrentUser, SessionDep, SettingsDep
from api.schemas.common import ErrorResponse
from api.schemas.users import Token, UserCreate, UserRead, UserUpdateMe
from api.services import users

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/register", response_model=UserRead, status_code=status.HTTP_201_CREATED)
def register(data: UserCreate, db: SessionDep, settings: SettingsDep) -> object:
    return users.register(db, settings, data)


@router.post(
    "/login",
    response_model=Token,
    responses={429: {"model": ErrorResponse, "description": "Too many failed logins"}},
)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
) -> Token:
    """OAuth2 password flow: `username` is the email. After too many failed logins for
    the account or from the address, 429 with Retry-After until the window ends."""
    client = request.client.host if request.client else "unknown"
    user = users.authenticate(db, settings, form.username, form.password, client)
    return Token(
        access_token=create_access_token(settings, user.id, user.token_version),
        expires_in=settings.access_token_expire_minutes * 60,
    )


@router.get("/me", response_model=UserRead)
def me(user: CurrentUser) -> object:
    return user


@router.patch("/me", response_model=UserRead)
def update_me(data: UserUpdateMe, user: CurrentUser, db: SessionDep) -> object:
    """Change your profile, or your password (with `current_password`): a password
    change ends every login made before it, this one included."""
    return users.update_me(db, user, data)
