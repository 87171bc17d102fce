"""Every call of a deployment's endpoint is metered: one `usage_records` row with its
outcome, status, latency and bytes, whatever the answer (ok, 4xx, 429, 5xx). Calls of a
deployment id that does not exist are not: there is no one to bill.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from api.db.models import ApiKey, Deployment, UsageRecord
from api.schemas.deployments import LatencySummary, Usage
from api.services.endpoint import limits
from api.services.endpoint.tiers import limits_of

# last_accessed_at / last_used_at move at most this often: a write per call on one row
# would serialize every replica's calls of a busy deployment on that row's lock.
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Meter:
    """Who a call is billed to; known once the deployment is."""

    deployment_id: uuid.UUID
    user_id: uuid.UUID
    api_key_id: uuid.UUID | None
    # As read when the call was authorised: the touches below are skipped when fresh.
    deployment_accessed_at: datetime | None = None
    key_used_at: datetime | None = None


def outcome_of(status_code: int) -> str:
    if status_code == 429:
        return "rate_limited"
    if status_code >= 500:
        return "server_error"
    if status_code >= 400:
        return "client_error"
    return "ok"


def record(
    db: Session,
    meter: Meter,
    status_code: int,
    latency_ms: float,
    request_bytes: int,
    response_bytes: int,
    now: datetime | None = None,
) -> None:
    """Write the call's usage record (and touch the deployment and key); commit."""
    from api.db.session import relax_durability

    now = now or datetime.now(UTC)
    relax_durability(db)  # a database crash may lose the last few records, not more
    db.add(
        UsageRecord(
            deployment_id=meter.deployment_id,
            user_id=meter.user_id,
            api_key_id=meter.api_key_id,
            created_at=now,
            outcome=outcome_of(status_code),
            status_code=status_code,
            latency_ms=round(latency_ms, 3),
            request_bytes=request_bytes,
            response_bytes=response_bytes,
        )
    )
    stale = now - _TOUCH_EVERY
    if status_code < 400 and _older(meter.deployment_accessed_at, stale):
        db.execute(
            update(Deployment)
            .where(
                Deployment.id == meter.deployment_id,
                or_(Deployment.last_accessed_at.is_(None), Deployment.last_accessed_at < stale),
            )
            .values(last_accessed_at=now)
        )
    if meter.api_key_id is not None and _older(meter.key_used_at, stale):
        db.execute(
            update(ApiKey)
            .where(
                ApiKey.id == meter.api_key_id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < stale),
            )
            .values(last_used_at=now)
        )
    db.commit()


def _older(seen: datetime | None, than: datetime) -> bool:
    return seen is None or seen < than


def usage(db: Session, deployment: Deployment, now: datetime | None = None) -> Usage:
    """This month's usage of `deployment` (UTC calendar month)."""
    from api.db.models import EndpointCounter

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

    def at(q: float) -> float:
        # Linear interpolation between ranks, as percentile_cont does.
        pos = q * (len(values) - 1)
        low = int(pos)
        high = min(low + 1, len(values) - 1)
        return round(values[low] + (values[high] - values[low]) * (pos - low), 3)

    return LatencySummary(p50=at(0.5), p99=at(0.99))
