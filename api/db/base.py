"""Declarative base and the column types every model shares.

The same models and migrations run on PostgreSQL (production) and SQLite (embedded
default), so types are chosen to behave identically on both.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Double, MetaData, TypeDecorator, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from contract.non_finite import NonFinite, name_of

# Deterministic constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp, always UTC when read back.

    PostgreSQL stores `timestamptz`; SQLite has no time zones and hands back naive
    values, which this type marks as UTC so comparisons never mix naive and aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class _AsGiven(Double):  # type: ignore[type-arg]
    """SQLite's double, its values bound as given: a NaN's name stays text (SQLite's
    driver would make every value a float again, and the NaN a NULL)."""

    def bind_processor(self, dialect: Dialect) -> None:
        return None


class MetricValue(TypeDecorator[float | NonFinite]):
    """A metric: a finite float, or "nan", "inf", "-inf" for the others, written and read
    back in that form (contract/non_finite.py), on a double precision column.

    PostgreSQL keeps NaN and the infinities natively. SQLite turns a NaN into NULL (so a
    NOT NULL column refuses it); there the name is written instead, which SQLite keeps
    as text since it stores values by what they are, not by the column's type.
    """

    impl = Double()
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        return _AsGiven() if dialect.name == "sqlite" else self.impl_instance

    def process_bind_param(self, value: float | str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = float(value)
        if math.isnan(number) and dialect.name == "sqlite":
            return "nan"
        return number

    def process_result_value(self, value: Any, dialect: Dialect) -> float | NonFinite | None:
        if value is None:
            return None
        number = float(value)
        return number if math.isfinite(number) else name_of(number)


# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        uuid.UUID: Uuid(),
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
    }


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(
        default=utcnow, server_default=func.now(), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=func.now()
    )
