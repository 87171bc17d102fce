"""One way to page through a query: total count, then one page of rows as a schema."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.schemas.common import Page, PageParams

S = TypeVar("S", bound=BaseModel)


def paginate(
    db: Session, query: Select[Any], page: PageParams, schema: type[S], *order_by: Any
) -> Page[S]:
    """The page of `query` that `page` asks for, in `order_by` order, read as `schema`."""
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(query.order_by(*order_by).limit(page.limit).offset(page.offset))
    return Page(
        items=[schema.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
