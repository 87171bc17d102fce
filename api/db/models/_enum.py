"""Enums stored as their string values in a plain VARCHAR.

Native PostgreSQL enum types make every new value a migration with its own DDL
quirks; a VARCHAR holds the same values on PostgreSQL and SQLite, and the API's
schemas validate them at the boundary.
"""

from __future__ import annotations

import enum

from sqlalchemy import Enum


def str_enum(cls: type[enum.Enum]) -> Enum:
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )
