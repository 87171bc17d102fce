"""Engine and sessions, created on first use.

Nothing connects at import time: under Lambda the app's lifespan runs on every
invocation, so the engine is built lazily once per process and reused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from api.settings import Settings, get_settings


def normalize_database_url(url: str) -> str:
    """Accept the plain `postgresql://` URLs people paste; we speak psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # SQLite ignores foreign keys unless asked, per connection.
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the API read while a worker callback writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@lru_cache(maxsize=8)
def engine_for(url: str, echo: bool = False) -> Engine:
    url = normalize_database_url(url)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def get_engine(settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    return engine_for(settings.database_url, settings.database_echo)


@lru_cache(maxsize=8)
def _sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def new_session(settings: Settings | None = None) -> Session:
    return _sessionmaker(get_engine(settings))()


def relax_durability(db: Session) -> None:
    """Commit this transaction without waiting for the WAL flush (PostgreSQL; a no-op
    elsewhere). Only for writes whose loss in a database crash costs little and that
    the next ones supersede: heartbeats, log events, rate-limit counters, usage records.
    It never reorders or corrupts anything, and never loses a status change."""
    from sqlalchemy import text

    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SET LOCAL synchronous_commit = off"))


# In a statement's SELECT list (PostgreSQL): what relax_durability does, for that
# statement's own transaction, without a round trip of its own.
RELAXED_COMMIT = "set_config('synchronous_commit', 'off', true)"


@contextmanager
def statement_connection(db: Session) -> Iterator[Connection]:
    """A connection of its own, in autocommit, from `db`'s engine: for one statement
    that is its whole transaction (no BEGIN and COMMIT round trips), leaving `db`
    untouched for whatever follows."""
    with db.get_bind().engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        yield conn
