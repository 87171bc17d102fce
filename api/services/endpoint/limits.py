"""Tier limits enforced in the database, so every API replica shares them.

Each deployment has two fixed-window counters (`endpoint_counters`): this minute's calls
(the rate limit) and this month's (the quota). A call bumps a counter with one atomic
`INSERT .. ON CONFLICT DO UPDATE .. RETURNING` (PostgreSQL, and SQLite >= 3.35): the row
lock makes concurrent replicas count one after another, and a counter whose stored
window has ended restarts at 1, so there is one row per deployment and period forever.

What counts: a call that got past authentication and the deployment's status. One
refused by the rate limit still counts in its minute (a client hammering stays refused
until the window ends) but never in the month; one refused by the quota counts in the
month (it stays over the quota until the month ends anyway).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case
from sqlalchemy.orm import Session

from api.db.models import EndpointCounter
from api.errors import TooManyRequests
from api.services.endpoint.tiers import TierLimits

MINUTE, MONTH = "minute", "month"


@dataclass(frozen=True)
class Admitted:
    limit: int
    remaining: int
    reset_at: datetime

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(int(self.reset_at.timestamp())),
        }


def minute_window(now: datetime) -> tuple[datetime, datetime]:
    start = now.replace(second=0, microsecond=0)
    return start, start + timedelta(minutes=1)


def month_window(now: datetime) -> tuple[datetime, datetime]:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def admit(
    db: Session, deployment_id: uuid.UUID, limits: TierLimits, now: datetime | None = None
) -> Admitted:
    """Count one call; commit. TooManyRequests (429, `rate_limited` or `quota_exceeded`)
    with Retry-After (seconds to the window's end) and X-RateLimit-* headers when over."""
    from api.db.session import relax_durability

    now = now or datetime.now(UTC)
    relax_durability(db)  # a crash may forget a few counted calls: the caller's gain
    start, end = minute_window(now)
    used = _bump(db, deployment_id, MINUTE, start)
    limit = limits.rate_limit_per_minute
    if used > limit:
        db.commit()
        raise _refused("rate_limited", f"Over the tier's {limit} calls per minute", limit, end, now)
    # Counted on every tier (an unlimited one is still billed by it), enforced where set.
    month_start, month_end = month_window(now)
    month_used = _bump(db, deployment_id, MONTH, month_start)
    if limits.monthly_quota is not None and month_used > limits.monthly_quota:
        db.commit()
        quota = limits.monthly_quota
        raise _refused(
            "quota_exceeded", f"Over the tier's {quota} calls per month", limit, month_end, now
        )
    db.commit()
    return Admitted(limit=limit, remaining=max(limit - used, 0), reset_at=end)


def _refused(code: str, message: str, limit: int, end: datetime, now: datetime) -> TooManyRequests:
    retry_after = max(1, math.ceil((end - now).total_seconds()))
    headers = {
        "Retry-After": str(retry_after),
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(end.timestamp())),
    }
    return TooManyRequests(
        message, code=code, headers=headers, details={"retry_after_seconds": retry_after}
    )


def _bump(db: Session, deployment_id: uuid.UUID, period: str, start: datetime) -> int:
    """Add one to the counter of `period` starting at `start`; its new count."""
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    table = EndpointCounter.__table__
    inserting = insert(EndpointCounter).values(
        deployment_id=deployment_id, period=period, window_start=start, count=1
    )
    newer = inserting.excluded.window_start > table.c.window_start
    statement = inserting.on_conflict_do_update(
        index_elements=[table.c.deployment_id, table.c.period],
        set_={
            # A replica whose clock lags a little counts into the newer window, never
            # restarts an older one.
            "count": case((newer, 1), else_=table.c.count + 1),
            "window_start": case(
                (newer, inserting.excluded.window_start), else_=table.c.window_start
            ),
        },
    ).returning(table.c.count)
    return int(db.execute(statement).scalar_one())
