"""User management for admins and managers."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import SessionDep, UserManager
from api.schemas.common import Page, PageParams
from api.schemas.users import UserAdminUpdate, UserRead
from api.services import users

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("", response_model=Page[UserRead])
def list_users(
    actor: UserManager, db: SessionDep, page: Annotated[PageParams, Depends()]
) -> Page[UserRead]:
    return users.list_page(db, page)


@router.get("/{user_id}", response_model=UserRead)
def get_user(user_id: uuid.UUID, actor: UserManager, db: SessionDep) -> object:
    return users.get_or_404(db, user_id)


@router.patch("/{user_id}", response_model=UserRead)
def update_user(
    user_id: uuid.UUID, data: UserAdminUpdate, actor: UserManager, db: SessionDep
) -> object:
    return users.admin_update(db, actor, users.get_or_404(db, user_id), data)
