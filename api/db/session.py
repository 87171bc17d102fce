"""Engine and sessions, created on first use.

Nothing connects at import time: under Lambda the app's lifespan runs on every
invocation, so the engine is built lazily once per process and reused.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from api.settings import Settings, get_settings
from contract.non_finite import json_safe


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


def storable_json(value: Any) -> str:
    """JSON for every json/jsonb column: a NaN or infinity anywhere in `value` is kept as
    its name, "nan", "inf" or "-inf" (contract/non_finite.py). Python would write NaN,
    which PostgreSQL refuses (a 500) and SQLite keeps only for pydantic to answer null."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        return json.dumps(json_safe(value), allow_nan=False)


@lru_cache(maxsize=8)
def engine_for(url: str, echo: bool = False) -> Engine:
    url = normalize_database_url(url)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False},
            json_serializer=storable_json,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        json_serializer=storable_json,
    )


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


# Each thread's own connection per database (see first_row), by engine URL.
_thread_connections = threading.local()


def _thread_connection(engine: Engine) -> Any:
    """This thread's autocommit psycopg connection to `engine`'s database: made through
    the engine (its URL and connect arguments), then detached from its pool for good."""
    from psycopg.rows import namedtuple_row

    connections: dict[str, Any] = _thread_connections.__dict__.setdefault("by_url", {})
    key = engine.url.render_as_string(hide_password=False)
    conn: Any = connections.get(key)
    if conn is None or conn.closed or conn.broken:
        pooled = engine.raw_connection()
        conn = pooled.driver_connection
        pooled.detach()  # ours now: the pool neither counts, resets nor closes it
        conn.autocommit = True
        conn.row_factory = namedtuple_row
        # PostgreSQL plans a prepared statement anew, for its parameters, on each of its
        # first five runs before it may keep one plan: the admission's statement took
        # 0.9-1.9 ms in the database on a connection's calls 1-5 and 0.45-0.7 ms from
        # the 6th; planned once, 0.55-1.0 ms from the 2nd (timed around first_row in a
        # real API process, 2 rounds of benchmarks/endpoint_first_call.py, twice each).
        # These hot paths look rows up by key: one plan fits every value.
        conn.execute("SET plan_cache_mode = force_generic_plan")
        connections[key] = conn
    return conn


def first_row(db: Session, sql: str, params: dict[str, Any]) -> Any | None:
    """The first row of `sql` (PostgreSQL, psycopg's `%(name)s` parameters), a statement
    that is its whole transaction, run on this thread's own connection to `db`'s database
    and prepared there once; None when it returns no row. Columns read as attributes.

    For a hot path's one statement (the endpoint's admission): no pool checkout, no
    pre-ping round trip and no SQLAlchemy between the statement and psycopg, about 0.25
    ms of a call, most of it Python holding the GIL that the call's other threads want.
    A connection found broken (the server restarted, a proxy dropped it) is replaced and
    the statement sent once more: it may then have run twice, so only statements where
    that costs little belong here. Errors are raised as SQLAlchemy raises them
    (sqlalchemy.exc.IntegrityError, ...), so that callers catch one kind whichever way
    a statement ran."""
    import psycopg
    from sqlalchemy.exc import DBAPIError

    engine = db.get_bind().engine
    try:
        conn = _thread_connection(engine)
        try:
            return conn.execute(sql, params, prepare=True).fetchone()
        except psycopg.OperationalError:
            if not conn.broken:
                raise
        return _thread_connection(engine).execute(sql, params, prepare=True).fetchone()
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, params, exc, psycopg.Error) from exc
