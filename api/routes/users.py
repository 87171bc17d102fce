"""User management for admins and managers."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import func, select

from api.db.models import User
from api.deps import SessionDep, UserManager
from api.errors import NotFound
from api.schemas.common import Page, PageParams
from api.schemas.users import UserAdminUpdate, UserRead
from api.services import users

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("", response_model=Page[UserRead])
def list_users(
    actor: UserManager, db: SessionDep, page: Annotated[PageParams, Depends()]
) -> Page[UserRead]:
    total = db.scalar(select(func.count()).select_from(User)) or 0
    rows = db.scalars(select(User).order_by(User.created_at, User.id).limit(page.limit).offset(page.offset))
    return Page(
        items=[UserRead.model_validate(u) for u in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/{user_id}", response_model=UserRead)
def get_user(user_id: uuid.UUID, actor: UserManager, db: SessionDep) -> object:
    return _user_or_404(db, user_id)


@router.patch("/{user_id}", response_model=UserRead)
def update_user(user_id: uuid.UUID, data: UserAdminUpdate, actor: UserManager, db: SessionDep) -> object:
    return users.admin_update(db, actor, _user_or_404(db, user_id), data)


def _user_or_404(db: SessionDep, user_id: uuid.UUID) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    return user
