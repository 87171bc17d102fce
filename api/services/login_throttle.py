"""Failed logins, throttled per account and per client address in the database, so
every API replica shares the counts (PostgreSQL and SQLite alike).

Each subject (an account's email, whether or not it exists, and a client's address,
an IPv6 one by its /64) has one row in `login_attempts`: its attempts since its window
began. A login counts itself against both with one atomic UPSERT *before* the password
is checked, so concurrent guesses are counted exactly, and is refused with 429 and
Retry-After when either is over its limit. The right password is refused too until the
window ends: otherwise a guesser would go on at full speed, reading its one 200 among
the 429s. A login that succeeds takes its count back (the account's row is cleared, the
address's count lowered by one): only failures add up.

A window starts at the first attempt after the previous one ended and lasts
LOGIN_FAILURE_WINDOW_SECONDS; attempts during it do not extend it. Rows of ended
windows are deleted a batch at a time after each successful login.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, bindparam, delete, select, text, update
from sqlalchemy.orm import Session

from api.db.models import LoginAttempts
from api.errors import TooManyRequests
from api.settings import Settings

_PRUNE_BATCH = 1000
_TABLE: Table = LoginAttempts.__table__  # type: ignore[assignment]

_COUNT = (
    text(
        """
    INSERT INTO login_attempts (subject, window_start, count)
    VALUES (:account, :now, 1), (:address, :now, 1)
    ON CONFLICT (subject) DO UPDATE SET
      count = CASE WHEN login_attempts.window_start <= :ended_before
                   THEN 1 ELSE login_attempts.count + 1 END,
      window_start = CASE WHEN login_attempts.window_start <= :ended_before
                          THEN excluded.window_start ELSE login_attempts.window_start END
    RETURNING subject, window_start, count
    """
    )
    .bindparams(
        bindparam("now", type_=_TABLE.c.window_start.type),
        bindparam("ended_before", type_=_TABLE.c.window_start.type),
    )
    .columns(
        _TABLE.c.subject,
        _TABLE.c.window_start,
        _TABLE.c.count,
    )
)


@dataclass(frozen=True)
class Attempt:
    """A login attempt counted against its account and its address."""

    account: str
    address: str


def account_subject(email: str) -> str:
    # Digests: the table keeps neither the emails tried nor the addresses in clear.
    return "account:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def address_subject(client: str) -> str:
    """The subject of a client address: an IPv6 address stands for its /64, which one
    machine usually holds whole."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        network = client
    else:
        network = str(
            ipaddress.ip_network(f"{address}/64", strict=False) if address.version == 6 else address
        )
    return "address:" + hashlib.sha256(network.encode()).hexdigest()[:32]


def begin(
    db: Session, settings: Settings, email: str, client: str, now: datetime | None = None
) -> Attempt:
    """Count a login attempt for `email` from `client` (commits). TooManyRequests (429,
    `login_throttled`, with Retry-After) when the account or the address has made more
    attempts in its window than its limit allows."""
    now = now or datetime.now(UTC)
    window = timedelta(seconds=settings.login_failure_window_seconds)
    attempt = Attempt(account_subject(email), address_subject(client))
    rows = db.execute(
        _COUNT,
        {"account": attempt.account, "address": attempt.address, "now": now,
         "ended_before": now - window},
    ).all()  # fmt: skip
    db.commit()
    counts = {subject: (count, window_start) for subject, window_start, count in rows}
    over = [
        (what, counts[subject][1] + window)
        for what, subject, limit in (
            ("for this account", attempt.account, settings.login_max_failures_per_account),
            ("from this address", attempt.address, settings.login_max_failures_per_address),
        )
        if counts[subject][0] > limit
    ]
    if over:
        retry_after = max(1, math.ceil(max((end - now).total_seconds() for _, end in over)))
        raise TooManyRequests(
            f"Too many failed logins {' and '.join(what for what, _ in over)}; "
            f"try again in {retry_after} s",
            code="login_throttled",
            headers={"Retry-After": str(retry_after)},
            details={"retry_after_seconds": retry_after},
        )
    return attempt


def succeeded(db: Session, settings: Settings, attempt: Attempt) -> None:
    """Take back a successful attempt's count (commits), then delete a batch of rows
    whose windows ended. The batch skips rows other logins hold (PostgreSQL) and runs in
    a transaction of its own, so it never waits for a lock and cannot deadlock."""
    db.execute(delete(_TABLE).where(_TABLE.c.subject == attempt.account))
    db.execute(
        update(_TABLE)
        .where(_TABLE.c.subject == attempt.address, _TABLE.c.count > 0)
        .values(count=_TABLE.c.count - 1)
    )
    db.commit()
    ended_before = datetime.now(UTC) - timedelta(seconds=settings.login_failure_window_seconds)
    ended = (
        select(_TABLE.c.subject)
        .where(_TABLE.c.window_start <= ended_before)
        .limit(_PRUNE_BATCH)
        .with_for_update(skip_locked=True)
    )
    db.execute(delete(_TABLE).where(_TABLE.c.subject.in_(ended)))
    db.commit()
