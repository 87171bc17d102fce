"""Alembic environment: runs the same migrations on PostgreSQL and SQLite."""

from __future__ import annotations

from alembic import context

import api.db.models  # noqa: F401  (registers every table)
from api.db.base import Base
from api.db.session import engine_for

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        connectable = engine_for(config.get_main_option("sqlalchemy.url"))
    with connectable.connect() if hasattr(connectable, "connect") else connectable as connection:  # type: ignore[union-attr]
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
