"""Usage per UTC calendar day, for charts: calls, errors by outcome, p50 and p95
latency and bytes, of one deployment or of every deployment of a user.

Counted in SQL from `usage_records`, on PostgreSQL and SQLite alike. Percentiles are
PostgreSQL's `percentile_cont` (linear interpolation between ranks); SQLite has no such
function, so there the day's latencies are read in order and interpolated the same way
here (`metering.percentile`), one day at a time.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, cast, func, literal_column, select
from sqlalchemy.orm import Session

from api.db.models import Deployment, UsageRecord, User
from api.schemas.deployments import (
    AccountDailyUsage,
    DailyLatency,
    DeploymentCallsPerDay,
    DeploymentDailyUsage,
    UsageDay,
)
from api.services.endpoint import metering

QUANTILES = (0.5, 0.95)


def window(days: int, now: datetime | None = None) -> tuple[date, date]:
    """The first and last UTC day of the `days` days that end today."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    return today - timedelta(days=days - 1), today


def for_deployment(
    db: Session, deployment: Deployment, days: int, now: datetime | None = None
) -> DeploymentDailyUsage:
    """Each of the last `days` UTC days (today included, oldest first) of the deployment."""
    metering.flush()  # this process's calls so far count
    first, last = window(days, now)
    series = _series(db, (UsageRecord.deployment_id == deployment.id,), first, last)
    return DeploymentDailyUsage(
        deployment_id=deployment.id, start=first, end=last, days=series.days
    )


def for_user(db: Session, user: User, days: int, now: datetime | None = None) -> AccountDailyUsage:
    """Each of the last `days` UTC days of every deployment `user` owns, summed, and each
    deployment's calls per day (those with calls in the window, most calls first)."""
    metering.flush()
    first, last = window(days, now)
    series = _series(db, (UsageRecord.user_id == user.id,), first, last)
    rows = db.execute(
        select(Deployment.id, Deployment.name).where(Deployment.id.in_(list(series.per_deployment)))
    )
    names = {deployment_id: name for deployment_id, name in rows}
    deployments = [
        DeploymentCallsPerDay(
            deployment_id=deployment_id,
            name=names[deployment_id],
            calls=sum(calls),
            errors=sum(series.errors_per_deployment[deployment_id]),
            calls_per_day=calls,
            errors_per_day=series.errors_per_deployment[deployment_id],
        )
        for deployment_id, calls in series.per_deployment.items()
        if deployment_id in names  # deleted meanwhile: its records go with it
    ]
    deployments.sort(key=lambda d: (-d.calls, d.name, str(d.deployment_id)))
    return AccountDailyUsage(start=first, end=last, days=series.days, deployments=deployments)


@dataclass
class _Series:
    days: list[UsageDay]
    per_deployment: dict[uuid.UUID, list[int]] = field(default_factory=dict)
    errors_per_deployment: dict[uuid.UUID, list[int]] = field(default_factory=dict)


def _series(db: Session, where: tuple[Any, ...], first: date, last: date) -> _Series:
    n = (last - first).days + 1
    dates = [first + timedelta(days=i) for i in range(n)]
    index = {d: i for i, d in enumerate(dates)}
    where = (
        *where,
        UsageRecord.created_at >= datetime.combine(first, time(), UTC),
        UsageRecord.created_at < datetime.combine(last + timedelta(days=1), time(), UTC),
    )
    day = _utc_day(db)
    outcomes: list[dict[str, int]] = [dict.fromkeys(metering.OUTCOMES, 0) for _ in dates]
    sent = [0] * n
    received = [0] * n
    series = _Series(days=[])
    rows = db.execute(
        select(
            UsageRecord.deployment_id,
            day,
            UsageRecord.outcome,
            func.count(),
            func.coalesce(func.sum(UsageRecord.request_bytes), 0),
            func.coalesce(func.sum(UsageRecord.response_bytes), 0),
        )
        .where(*where)
        .group_by(UsageRecord.deployment_id, day, UsageRecord.outcome)
    )
    for deployment_id, on, outcome, count, request_bytes, response_bytes in rows:
        i = index[_as_date(on)]
        outcomes[i][outcome] = outcomes[i].get(outcome, 0) + int(count)
        sent[i] += int(request_bytes)
        received[i] += int(response_bytes)
        calls = series.per_deployment.setdefault(deployment_id, [0] * n)
        errors = series.errors_per_deployment.setdefault(deployment_id, [0] * n)
        calls[i] += int(count)
        if outcome != "ok":
            errors[i] += int(count)
    latency = _latency_by_day(db, where, day)
    for i, on in enumerate(dates):
        p50, p95 = latency.get(on, (None, None))
        calls_that_day = sum(outcomes[i].values())
        series.days.append(
            UsageDay(
                day=on,
                calls=calls_that_day,
                errors=calls_that_day - outcomes[i]["ok"],
                by_outcome=outcomes[i],
                latency_ms=DailyLatency(p50=p50, p95=p95),
                request_bytes=sent[i],
                response_bytes=received[i],
            )
        )
    return series


def _utc_day(db: Session) -> Any:
    """The UTC calendar day of a record, as SQL."""
    if db.get_bind().dialect.name == "postgresql":
        # A literal, not a parameter: the same expression must appear in GROUP BY.
        return cast(func.timezone(literal_column("'UTC'"), UsageRecord.created_at), Date)
    # SQLite keeps UTC timestamps as text, 'YYYY-MM-DD HH:MM:SS.ffffff'.
    return func.date(UsageRecord.created_at)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _latency_by_day(
    db: Session, where: tuple[Any, ...], day: Any
) -> dict[date, tuple[float | None, float | None]]:
    """(p50, p95) latency in ms of each day that had calls."""
    found: dict[date, tuple[float | None, float | None]] = {}
    if db.get_bind().dialect.name == "postgresql":
        rows = db.execute(
            select(
                day,
                *(func.percentile_cont(q).within_group(UsageRecord.latency_ms) for q in QUANTILES),
            )
            .where(*where)
            .group_by(day)
        )
        for on, p50, p95 in rows:
            found[_as_date(on)] = (_ms(p50), _ms(p95))
        return found
    ordered = db.execute(
        select(day, UsageRecord.latency_ms).where(*where).order_by(day, UsageRecord.latency_ms)
    )
    for on, group in itertools.groupby(ordered, key=lambda row: row[0]):
        values = [float(row[1]) for row in group]
        p50, p95 = (_ms(metering.percentile(values, q)) for q in QUANTILES)
        found[_as_date(on)] = (p50, p95)
    return found


def _ms(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)
