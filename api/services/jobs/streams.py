"""Server-Sent Events of a job's log: id = seq, resumable with Last-Event-ID, closed
after the terminal event.

Behind AWS Lambda (Mangum buffers whole responses) a stream cannot stay open: there it
is a bounded catch-up, every event after Last-Event-ID and then the end, with a
`retry:` hint so EventSource reconnects and asks for the rest.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import nullcontext
from typing import Any

from starlette.concurrency import run_in_threadpool

from api.db.models import TERMINAL_STATUSES, JobKind
from api.db.session import new_session
from api.services.jobs import events
from api.services.jobs.kinds import KINDS
from api.services.jobs.wakeups import for_current_loop
from api.settings import Settings, under_lambda

_BATCH = 500
_FALLBACK_SECONDS = 1.0  # SQLite polls this often; on Postgres only if a NOTIFY is lost
RETRY_MS = 2000


def _read(
    settings: Settings, kind: JobKind, job_id: uuid.UUID, after: int
) -> tuple[list[dict[str, Any]], bool]:
    """The next events after `after`, and whether the job has ended with nothing more to read."""
    with new_session(settings) as db:
        rows = events.after(db, job_id, after, _BATCH)
        job = db.get(KINDS[kind].model, job_id)
        newest = rows[-1].seq if rows else after
        ended = job is None or (job.status in TERMINAL_STATUSES and job.last_event_seq <= newest)
        return [events.as_dict(r) for r in rows], ended


async def sse(
    settings: Settings, kind: JobKind, job_id: uuid.UUID, after: int
) -> AsyncIterator[dict[str, Any]]:
    """The job's events after `after` as sse-starlette messages, until the job ends."""
    bounded = under_lambda()
    first = True
    last = after
    watching = nullcontext() if bounded else for_current_loop(settings).watch(str(job_id))
    with watching as woken:
        while True:
            batch, ended = await run_in_threadpool(_read, settings, kind, job_id, last)
            for item in batch:
                message: dict[str, Any] = {
                    "id": str(item["seq"]),
                    "event": item["type"],
                    "data": json.dumps(item),
                }
                if first:
                    message["retry"] = RETRY_MS
                    first = False
                yield message
                last = item["seq"]
            if ended or (bounded and len(batch) < _BATCH):
                return
            if len(batch) < _BATCH:
                assert woken is not None
                await woken.wait(_FALLBACK_SECONDS)


def read_page(settings: Settings, kind: JobKind, job_id: uuid.UUID, after: int) -> dict[str, Any]:
    """The events after `after` as one JSON page (for clients that cannot stream)."""
    batch, ended = _read(settings, kind, job_id, after)
    return {"events": batch, "last_seq": batch[-1]["seq"] if batch else after, "terminal": ended}
