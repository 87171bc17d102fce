"""Run Alembic migrations from code (`vap db upgrade`, `vap serve` on SQLite, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from api.db.session import normalize_database_url
from api.settings import Settings, get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(settings: Settings | None = None) -> Config:
    settings = settings or get_settings()
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' is interpolation syntax in Alembic's ini parser.
    cfg.set_main_option(
        "sqlalchemy.url", normalize_database_url(settings.database_url).replace("%", "%%")
    )
    return cfg


def upgrade(settings: Settings | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(settings), revision)


def current_revision(settings: Settings | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from api.db.session import get_engine

    with get_engine(settings).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
