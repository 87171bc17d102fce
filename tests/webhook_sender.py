"""The API's webhook sender, one pass at a time, as `vap serve` runs it every two seconds.

Deliveries due are shared by every user in the test database: other tests leave some behind
(the ownership test's user subscribes to every event, and its jobs end later in the session).
A test that counts what one pass sends first drains those, so its count is its own."""

from __future__ import annotations

from api.db.session import new_session
from api.services import webhooks
from api.settings import get_settings


def deliver_due() -> int:
    """One pass of the sender; how many deliveries it attempted."""
    with new_session() as db:
        return webhooks.deliver_due(db, get_settings())


def drain() -> None:
    """Attempt every delivery due now; a failed one is retried later, so it is not due again."""
    while deliver_due():
        pass
