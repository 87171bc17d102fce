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
`relax_durability`: no status changes here). Any other case
updates no row and changes nothing; the caller then takes the general path, which
answers it with the rules in full (superseded, duplicate, ended, first heartbeat).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.orm import Session

from api.db.models import JobEvent, JobStatus
from api.db.session import RELAXED_COMMIT, statement_connection
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
    columns = {name: value for name, value in (columns or {}).items() if value is not None}
    now = datetime.now(UTC)
    params = {
        "job_id": claims.job_id,
        "kind": claims.kind.value,
        "attempt": body.attempt,
        "seq": body.seq,
        "now": now,
        "type": type,
        "data": data,
        **columns,
    }
    statement = _statement(claims.kind, tuple(sorted(columns)))
    with statement_connection(db) as conn:  # the session stays untouched for the general path
        return conn.execute(statement, params).first() is not None


@lru_cache(maxsize=64)
def _statement(kind: Any, columns: tuple[str, ...]) -> TextClause:
    """The statement for one kind of job and the columns a callback sets, written out
    once: building it through SQLAlchemy per call cost more than PostgreSQL running it."""
    table = KINDS[kind].model.__table__
    sets = "".join(f", {c} = :{c}" for c in columns)
    statement = text(
        f"""
        WITH job AS (
          UPDATE {table.name} SET last_callback_seq = :seq, last_event_seq = last_event_seq + 1,
                 last_heartbeat_at = :now, updated_at = :now{sets}
          WHERE id = :job_id AND attempt = :attempt AND status = '{JobStatus.RUNNING.value}'
                AND last_callback_seq < :seq
          RETURNING id, last_event_seq
        ), event AS (
          INSERT INTO {JobEvent.__tablename__}
                 (job_id, job_kind, seq, attempt, type, data, created_at)
          SELECT id, :kind, last_event_seq, :attempt, :type, :data, :now FROM job
          RETURNING job_id
        )
        SELECT pg_notify('{CHANNEL}', job_id::text), {RELAXED_COMMIT}
        FROM event
        """
    )
    # The column types adapt JSON and UTC timestamps as the ORM does.
    events = JobEvent.__table__.c
    types = {"job_id": table.c.id.type, "now": events.created_at.type, "data": events.data.type}
    types |= {c: table.c[c].type for c in columns}
    return statement.bindparams(*(bindparam(name, type_=t) for name, t in types.items()))
