"""The one place that decides whether a user may see or change a resource.

A user never learns of another user's resource: a foreign id answers exactly as a
missing one does (404). Admins see everything. Resources marked public (datasets,
pretrained weights) can be read by anyone but changed only by their owner.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from api.db.models import User, Visibility
from api.errors import Forbidden, NotFound

M = TypeVar("M")


def owner_column(model: type[Any]) -> Any:
    """Resources name their owner `owner_id` (seeds: datasets, projects) or `user_id` (jobs)."""
    column = getattr(model, "owner_id", None)
    return column if column is not None else model.user_id


def _readable_when_public(model: type[Any]) -> Any | None:
    visibility = getattr(model, "visibility", None)
    return None if visibility is None else visibility == Visibility.PUBLIC


def visible_to(user: User, model: type[M]) -> Select[M]:
    """A query over the rows of `model` that `user` may read."""
    query = select(model)
    if user.is_admin:
        return query
    public = _readable_when_public(model)
    mine = owner_column(model) == user.id
    return query.where(or_(mine, public) if public is not None else mine)


def get_for_read(db: Session, model: type[M], id_: uuid.UUID, user: User) -> M:
    """The row if `user` may read it; NotFound otherwise (missing or someone else's)."""
    row = db.get(model, id_)
    if row is None:
        raise NotFound(f"{_label(model)} not found")
    if user.is_admin or getattr(row, owner_column(model).key) == user.id:
        return row
    if getattr(row, "visibility", None) == Visibility.PUBLIC:
        return row
    raise NotFound(f"{_label(model)} not found")


def get_for_write(db: Session, model: type[M], id_: uuid.UUID, user: User) -> M:
    """The row if `user` may change it. Someone else's public row is Forbidden (its
    existence is no secret); a private one is NotFound."""
    row = get_for_read(db, model, id_, user)
    if not user.is_admin and getattr(row, owner_column(model).key) != user.id:
        raise Forbidden(f"Only the owner can change this {_label(model).lower()}")
    return row


def _label(model: type[Any]) -> str:
    name = model.__name__
    spaced = "".join(" " + c.lower() if c.isupper() else c for c in name).strip()
    return spaced[:1].upper() + spaced[1:]
