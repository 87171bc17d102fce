"""Tier limits enforced in the database, so every API replica shares them.

Each deployment has two fixed-window counters (`endpoint_counters`): this minute's calls
(the rate limit) and this month's (the quota). A call bumps both with one atomic
`INSERT .. ON CONFLICT DO UPDATE .. RETURNING` (PostgreSQL, and SQLite >= 3.35): the row
lock makes concurrent replicas count one after another, and a counter whose stored
window has ended restarts at 1, so there is one row per deployment and period forever.

What counts: a call that got past authentication and the deployment's status. One
refused by the rate limit still counts in its minute (a client hammering stays refused
until the window ends) but never in the month; one refused by the quota counts in the
month (it stays over the quota until the month ends anyway): the month's count of a
call refused by the rate limit is taken back in the same transaction.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, bindparam, text, update
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
    # Both counters in one statement (one round trip, on every call of every tier: an
    # unlimited quota is still billed by the month's count).
    used = _bump(db, deployment_id, minute_window(now)[0], month_window(now)[0])
    try:
        admitted = judge(limits, used, now)
    except TooManyRequests as refused:
        settle_refusal(db, deployment_id, refused)
        db.commit()
        raise
    db.commit()
    return admitted


def judge(limits: TierLimits, used: dict[str, int], now: datetime) -> Admitted:
    """Admit a call that `used` counts (this minute's and this month's, the call
    included), or refuse it (TooManyRequests, as `admit` says; then settle_refusal)."""
    _, end = minute_window(now)
    _, month_end = month_window(now)
    limit = limits.rate_limit_per_minute
    if used[MINUTE] > limit:
        raise _refused("rate_limited", f"Over the tier's {limit} calls per minute", limit, end, now)
    if limits.monthly_quota is not None and used[MONTH] > limits.monthly_quota:
        quota = limits.monthly_quota
        raise _refused(
            "quota_exceeded", f"Over the tier's {quota} calls per month", limit, month_end, now
        )
    return Admitted(limit=limit, remaining=max(limit - used[MINUTE], 0), reset_at=end)


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


# One statement for both dialects (PostgreSQL, and SQLite >= 3.35 speak the same UPSERT),
# written out: SQLAlchemy building the construct per call cost more than the database
# running it. A replica whose clock lags a little counts into the newer window, never
# restarts an older one.
COUNT_ONE = """
    ON CONFLICT (deployment_id, period) DO UPDATE SET
      count = CASE WHEN excluded.window_start > endpoint_counters.window_start
                   THEN 1 ELSE endpoint_counters.count + 1 END,
      window_start = CASE WHEN excluded.window_start > endpoint_counters.window_start
                          THEN excluded.window_start ELSE endpoint_counters.window_start END
    RETURNING period, count
"""  # after an INSERT INTO endpoint_counters of (deployment_id, period, window_start, 1)
_BUMP = text(
    """
    INSERT INTO endpoint_counters (deployment_id, period, window_start, count)
    VALUES (:deployment_id, :minute, :minute_start, 1), (:deployment_id, :month, :month_start, 1)
    """
    + COUNT_ONE
).bindparams(
    bindparam("deployment_id", type_=EndpointCounter.__table__.c.deployment_id.type),
    bindparam("minute_start", type_=EndpointCounter.__table__.c.window_start.type),
    bindparam("month_start", type_=EndpointCounter.__table__.c.window_start.type),
)


def _bump(
    db: Session, deployment_id: uuid.UUID, minute_start: datetime, month_start: datetime
) -> dict[str, int]:
    """Add one to this minute's and this month's counters; their new counts."""
    rows = db.execute(
        _BUMP,
        {
            "deployment_id": deployment_id,
            "minute": MINUTE,
            "minute_start": minute_start,
            "month": MONTH,
            "month_start": month_start,
        },
    )
    return {period: int(count) for period, count in rows}


_BUMP_ONE = text(
    "INSERT INTO endpoint_counters (deployment_id, period, window_start, count) "
    "VALUES (:deployment_id, :period, :window_start, 1)" + COUNT_ONE
).bindparams(
    bindparam("deployment_id", type_=EndpointCounter.__table__.c.deployment_id.type),
    bindparam("window_start", type_=EndpointCounter.__table__.c.window_start.type),
)


def failure_period(client: str) -> str:
    """The counter of one client address's failed authentications (a digest: the
    period column is short, and addresses are not kept in clear)."""
    return "auth:" + hashlib.sha256(client.encode()).hexdigest()[:11]


def refuse_failed_auth(
    db: Session, deployment_id: uuid.UUID, client: str, per_minute: int, now: datetime
) -> TooManyRequests | None:
    """Count one failed authentication of `client` at this deployment (commits); the
    429 to answer once it has failed more than `per_minute` times this minute. Such
    calls never count against the deployment's own limits or its owner's usage."""
    from api.db.session import relax_durability

    start, end = minute_window(now)
    relax_durability(db)
    params = {"deployment_id": deployment_id, "period": failure_period(client),
              "window_start": start}  # fmt: skip
    _, failures = db.execute(_BUMP_ONE, params).one()  # RETURNING period, count
    db.commit()
    if int(failures) <= per_minute:
        return None
    return _refused(
        "auth_throttled",
        f"Too many calls with an invalid API key from this address (over {per_minute} a "
        "minute); wait before trying again",
        per_minute,
        end,
        now,
    )


def settle_refusal(
    db: Session | Connection, deployment_id: uuid.UUID, refused: TooManyRequests
) -> None:
    """Count a call `judge` refused as the module docstring says: one refused by the rate
    limit is taken back out of this month's count (the caller commits)."""
    if refused.code != "rate_limited":
        return
    db.execute(
        update(EndpointCounter)
        .where(EndpointCounter.deployment_id == deployment_id, EndpointCounter.period == MONTH)
        .values(count=EndpointCounter.count - 1)
    )
