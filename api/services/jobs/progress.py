"""Progress reports from a running job (heartbeats, log-like events) applied in one
PostgreSQL statement.

They are most of the callback traffic: every worker heartbeats every few seconds and
logs as it goes. The general path (`callbacks._admit` and on) locks the job row through
the ORM, checks the callback rules, updates the row, appends the event and NOTIFYs:
seven round trips and several milliseconds of Python per callback. In the common case
(the job is running, the callback comes from its current attempt, its seq is new) the
rules reduce to a WHERE clause and the callback to one statement: UPDATE the job row
(whose row lock orders concurrent appends, as `events.append` relies on), INSERT the
event numbered from the updated row, NOTIFY the streams, and commit (autocommit: the
statement is its transaction) without waiting for the WAL flush (as
`relax_durability`: no status changes here), on the thread's own connection
(`session.first_row`). Any other case
updates no row and changes nothing; the caller then takes the general path, which
answers it with the rules in full (superseded, duplicate, ended, first heartbeat).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.orm import Session

from api.db.models import JobEvent, JobStatus
from api.db.session import RELAXED_COMMIT, first_row, storable_json
from api.services.jobs.events import CHANNEL
from api.services.jobs.kinds import KINDS
from api.services.jobs.tokens import JobClaims
from contract.jobs import Callback


def apply(
    db: Session,
    claims: JobClaims,
    body: Callback,
    type: str,
    data: dict[str, Any],
    columns: dict[str, Any] | None = None,
) -> bool:
    """Append event (`type`, `data`) to the running job and set its `columns` (those
    given as None keep their value), committed; False, with nothing changed, when the
    callback needs the general path (or the database is not PostgreSQL)."""
    if body.attempt != claims.attempt or db.get_bind().dialect.name != "postgresql":
        return False
    from psycopg.types.json import Jsonb

    columns = {name: value for name, value in (columns or {}).items() if value is not None}
    json_columns = _json_columns(claims.kind)
    params = {
        "job_id": claims.job_id,
        "kind": claims.kind.value,
        "attempt": body.attempt,
        "seq": body.seq,
        "now": datetime.now(UTC),
        "type": type,
        "data": Jsonb(data, dumps=storable_json),
    }
    for name, value in columns.items():
        params[name] = Jsonb(value, dumps=storable_json) if name in json_columns else value
    # On this thread's own connection (no pool checkout and its pre-ping round trip,
    # which cost as much as the statement): if the connection was found broken and the
    # statement sent again, the second run finds its seq applied and changes nothing.
    return first_row(db, _statement(claims.kind, tuple(sorted(columns))), params) is not None


@lru_cache(maxsize=8)
def _json_columns(kind: Any) -> frozenset[str]:
    table = KINDS[kind].model.__table__
    return frozenset(c.name for c in table.c if isinstance(c.type, JSON))


@lru_cache(maxsize=64)
def _statement(kind: Any, columns: tuple[str, ...]) -> str:
    """The statement for one kind of job and the columns a callback sets, written out
    once (psycopg prepares it on each connection's first use)."""
    table = KINDS[kind].model.__table__.name
    sets = "".join(f", {c} = %({c})s" for c in columns)
    return f"""
        WITH job AS (
          UPDATE {table} SET last_callback_seq = %(seq)s, last_event_seq = last_event_seq + 1,
                 last_heartbeat_at = %(now)s, updated_at = %(now)s{sets}
          WHERE id = %(job_id)s AND attempt = %(attempt)s
                AND status = '{JobStatus.RUNNING.value}' AND last_callback_seq < %(seq)s
          RETURNING id, last_event_seq
        ), event AS (
          INSERT INTO {JobEvent.__tablename__}
                 (job_id, job_kind, seq, attempt, type, data, created_at)
          SELECT id, %(kind)s, last_event_seq, %(attempt)s, %(type)s, %(data)s, %(now)s FROM job
          RETURNING job_id
        )
        SELECT pg_notify('{CHANNEL}', job_id::text), {RELAXED_COMMIT}
        FROM event
        """
