"""The same migrations build the same schema on an empty PostgreSQL and an empty SQLite."""

from __future__ import annotations

import secrets

import pytest

from tests.conftest import PG_ADMIN_URL, _admin_connect


def _schema_drift(settings) -> list:  # type: ignore[no-untyped-def]
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.db.base import Base
    from api.db.session import get_engine

    with get_engine(settings).connect() as conn:
        return compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )


@pytest.fixture()
def empty_postgres():  # type: ignore[no-untyped-def]
    name = f"vap_migr_{secrets.token_hex(4)}"
    with _admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    from api.db.session import engine_for

    engine_for(url).dispose()
    with _admin_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_migrations_build_the_models_schema_and_roll_back(backend, empty_postgres, tmp_path):
    from sqlalchemy import inspect

    from api.db import migrate
    from api.db.base import Base
    from api.db.session import get_engine
    from api.settings import Settings

    url = empty_postgres if backend == "postgresql" else f"sqlite:///{tmp_path}/empty.db"
    settings = Settings(database_url=url, data_dir=tmp_path, secret_key="k" * 32)
    assert migrate.current_revision(settings) is None

    migrate.upgrade(settings)
    assert migrate.current_revision(settings) is not None
    tables = set(inspect(get_engine(settings)).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert _schema_drift(settings) == []  # models and migrations agree exactly

    migrate.downgrade(settings, "base")
    assert set(inspect(get_engine(settings)).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(settings)
    assert _schema_drift(settings) == []
    get_engine(settings).dispose()


def test_timestamps_come_back_timezone_aware_on_sqlite(tmp_path):
    from api.db import migrate
    from api.db.models import User
    from api.db.session import get_engine, new_session
    from api.settings import Settings

    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/tz.db", data_dir=tmp_path, secret_key="k" * 32
    )
    migrate.upgrade(settings)
    with new_session(settings) as db:
        db.add(User(email="tz@example.com", hashed_password="x"))
        db.commit()
    with new_session(settings) as db:
        user = db.query(User).one()
        assert (
            user.created_at.tzinfo is not None and user.created_at.utcoffset().total_seconds() == 0
        )
    get_engine(settings).dispose()


def test_sqlite_enforces_foreign_keys(tmp_path):
    import uuid

    from sqlalchemy.exc import IntegrityError

    from api.db import migrate
    from api.db.models import Project
    from api.db.session import get_engine, new_session
    from api.settings import Settings

    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/fk.db", data_dir=tmp_path, secret_key="k" * 32
    )
    migrate.upgrade(settings)
    with new_session(settings) as db, pytest.raises(IntegrityError):
        db.add(Project(owner_id=uuid.uuid4(), name="orphan"))
        db.commit()
    get_engine(settings).dispose()
