"""Every call of a deployment's endpoint is metered: one `usage_records` row with its
outcome, status, latency and bytes, whatever the answer (ok, 4xx, 429, 5xx). Calls of a
deployment id that does not exist are not: there is no one to bill.

Records are written in batches by one thread per process, every
`infer_metering_flush_ms`: a transaction per call, on the call's path, cost each call
more than 3 ms on a 2-core machine (and delayed the next request of a keep-alive
connection). Reading usage writes this process's batch first; another replica's shows
within one period. With 0, and always under Lambda (a frozen process runs no thread),
each call's record is written as its answer leaves.
"""

from __future__ import annotations

import atexit
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.models import ApiKey, Deployment, UsageRecord
from api.schemas.deployments import LatencySummary, Usage
from api.services.endpoint import limits
from api.services.endpoint.tiers import limits_of
from api.settings import Settings

log = structlog.get_logger("api.endpoint")

# last_accessed_at / last_used_at move at most this often: a write per call on one row
# would serialize every replica's calls of a busy deployment on that row's lock.
_TOUCH_EVERY = timedelta(seconds=60)
# What a process holds while the database cannot take its records; beyond it the oldest
# go (logged), rather than the process's memory.
MAX_PENDING = 100_000


@dataclass(frozen=True)
class Meter:
    """Who a call is billed to; known once the deployment is."""

    deployment_id: uuid.UUID
    user_id: uuid.UUID
    api_key_id: uuid.UUID | None
    # As read when the call was authorised: the touches below are skipped when fresh.
    deployment_accessed_at: datetime | None = None
    key_used_at: datetime | None = None


@dataclass(frozen=True)
class Call:
    """One metered call."""

    meter: Meter
    status_code: int
    latency_ms: float
    request_bytes: int
    response_bytes: int
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


# What a call's record says of its answer; outcome_of decides which.
OUTCOMES = ("ok", "client_error", "server_error", "rate_limited")


def outcome_of(status_code: int) -> str:
    if status_code == 429:
        return "rate_limited"
    if status_code >= 500:
        return "server_error"
    if status_code >= 400:
        return "client_error"
    return "ok"


def record(db: Session, calls: Sequence[Call]) -> None:
    """Write the calls' usage records (and touch their deployments and keys); commit.
    A record whose deployment, user or key was deleted since its call is dropped."""
    from api.db.session import relax_durability

    relax_durability(db)  # a database crash may lose the last few records, not more
    rows = [_row(call) for call in calls]
    try:
        db.execute(insert(UsageRecord), rows)
    except IntegrityError:
        db.rollback()
        relax_durability(db)
        for row in rows:  # one by one: the others are still billed
            try:
                with db.begin_nested():
                    db.execute(insert(UsageRecord), [row])
            except IntegrityError:
                log.warning("usage_of_deleted_deployment", deployment_id=str(row["deployment_id"]))
    _touch(db, calls)
    db.commit()


def _row(call: Call) -> dict[str, object]:
    return {
        "deployment_id": call.meter.deployment_id,
        "user_id": call.meter.user_id,
        "api_key_id": call.meter.api_key_id,
        "created_at": call.at,
        "outcome": outcome_of(call.status_code),
        "status_code": call.status_code,
        "latency_ms": round(call.latency_ms, 3),
        "request_bytes": call.request_bytes,
        "response_bytes": call.response_bytes,
    }


def _touch(db: Session, calls: Sequence[Call]) -> None:
    """Move last_accessed_at / last_used_at of the deployments and keys whose values,
    as their calls read them, are stale: one UPDATE each, whatever the number of calls."""
    latest: dict[tuple[type[Deployment] | type[ApiKey], uuid.UUID], datetime] = {}
    for call in calls:  # in the order they were made: the last one's time wins
        if call.status_code >= 400:
            continue
        stale, meter = call.at - _TOUCH_EVERY, call.meter
        if _older(meter.deployment_accessed_at, stale):
            latest[(Deployment, meter.deployment_id)] = call.at
        if meter.api_key_id is not None and _older(meter.key_used_at, stale):
            latest[(ApiKey, meter.api_key_id)] = call.at
    for (model, row_id), at in latest.items():
        column = Deployment.last_accessed_at if model is Deployment else ApiKey.last_used_at
        stale = at - _TOUCH_EVERY
        db.execute(
            update(model)
            .where(model.id == row_id, or_(column.is_(None), column < stale))
            .values({column.key: at})
        )


class UsageWriter:
    """This process's buffer of calls not yet written, and the thread that writes them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pending: list[Call] = []
        self._lock = threading.Lock()  # guards _pending
        self._writing = threading.Lock()  # one batch at a time, so none is written twice
        self._thread: threading.Thread | None = None

    def add(self, call: Call) -> None:
        with self._lock:
            self._pending.append(call)
            if len(self._pending) > MAX_PENDING:
                dropped = len(self._pending) - MAX_PENDING
                del self._pending[:dropped]
                log.error("usage_records_dropped", count=dropped)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="usage-writer", daemon=True)
                self._thread.start()

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def flush(self) -> None:
        """Write every call buffered now; on failure they stay buffered for the next try."""
        from api.db.session import new_session

        with self._writing:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                with new_session(self.settings) as db:
                    record(db, batch)
            except Exception:
                with self._lock:
                    self._pending[:0] = batch
                raise

    def _run(self) -> None:
        interval = self.settings.infer_metering_flush_ms / 1000
        while True:  # a daemon: it ends with the process, after the shutdown flush
            time.sleep(interval)
            try:
                self.flush()
            except Exception:
                log.exception("usage_not_recorded", pending=self.pending())


_writer: UsageWriter | None = None
_writer_lock = threading.Lock()


def _writer_for(settings: Settings) -> UsageWriter:
    global _writer
    with _writer_lock:
        if _writer is None or _writer.settings.database_url != settings.database_url:
            if _writer is not None:
                _writer.flush()
            _writer = UsageWriter(settings)
        return _writer


def batched(settings: Settings) -> bool:
    """Whether calls are metered by this process's writer thread: not under Lambda,
    which freezes the process, thread included, as soon as an answer is out."""
    from api.settings import under_lambda

    return settings.infer_metering_flush_ms > 0 and not under_lambda()


def meter(settings: Settings, call: Call) -> None:
    """Meter one call: buffered (instant) when batched, else written now (blocking: call
    it from a thread)."""
    if batched(settings):
        _writer_for(settings).add(call)
        return
    from api.db.session import new_session

    with new_session(settings) as db:
        record(db, [call])


def flush() -> None:
    """Write this process's buffered records now (before usage is read; at exit). A
    failure is logged: the records stay buffered for the writer's next try."""
    if _writer is None:
        return
    try:
        _writer.flush()
    except Exception:
        log.exception("usage_not_recorded", pending=_writer.pending())


atexit.register(flush)  # processes that end without the app's lifespan shutdown


def _older(seen: datetime | None, than: datetime) -> bool:
    return seen is None or seen < than


def usage(db: Session, deployment: Deployment, now: datetime | None = None) -> Usage:
    """This month's usage of `deployment` (UTC calendar month)."""
    from api.db.models import EndpointCounter

    flush()  # this process's calls so far count
    now = now or datetime.now(UTC)
    start, _ = limits.month_window(now)
    tier = limits_of(deployment.tier)
    this_month = (UsageRecord.deployment_id == deployment.id, UsageRecord.created_at >= start)
    by_outcome: dict[str, int] = {}
    request_bytes = response_bytes = 0
    rows = db.execute(
        select(
            UsageRecord.outcome,
            func.count(),
            func.coalesce(func.sum(UsageRecord.request_bytes), 0),
            func.coalesce(func.sum(UsageRecord.response_bytes), 0),
        )
        .where(*this_month)
        .group_by(UsageRecord.outcome)
    )
    for outcome, count, sent, received in rows:
        by_outcome[outcome] = int(count)
        request_bytes += int(sent)
        response_bytes += int(received)
    counter = db.get(EndpointCounter, (deployment.id, limits.MONTH))
    quota_used = counter.count if counter is not None and counter.window_start >= start else 0
    return Usage(
        deployment_id=deployment.id,
        tier=str(deployment.tier),
        period_start=start,
        requests_this_month=sum(by_outcome.values()),
        quota_used=quota_used,
        monthly_quota=tier.monthly_quota,
        rate_limit_per_minute=tier.rate_limit_per_minute,
        by_outcome=by_outcome,
        latency_ms=_latency(db, this_month),
        request_bytes=request_bytes,
        response_bytes=response_bytes,
    )


def _latency(db: Session, where: tuple) -> LatencySummary:  # type: ignore[type-arg]
    """p50 and p99 of the month's calls: PostgreSQL computes them; SQLite (the embedded
    default, one machine) has no percentile function, so the values are read here."""
    if db.get_bind().dialect.name == "postgresql":
        p50, p99 = db.execute(
            select(
                func.percentile_cont(0.5).within_group(UsageRecord.latency_ms),
                func.percentile_cont(0.99).within_group(UsageRecord.latency_ms),
            ).where(*where)
        ).one()
        return LatencySummary(
            p50=None if p50 is None else round(float(p50), 3),
            p99=None if p99 is None else round(float(p99), 3),
        )
    values = sorted(db.scalars(select(UsageRecord.latency_ms).where(*where)))
    if not values:
        return LatencySummary(p50=None, p99=None)
    return LatencySummary(
        p50=round(percentile(values, 0.5), 3), p99=round(percentile(values, 0.99), 3)
    )


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of ascending `ordered` values (not empty), interpolated linearly
    between ranks as PostgreSQL's percentile_cont (and numpy's default) does."""
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
