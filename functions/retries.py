"""The one retry policy of a worker's HTTP calls: callbacks, uploads and downloads.

A call that gets no answer (a transport error), a 5xx or a 429 is tried again after
each of DELAYS seconds (about half a minute in all, long enough for an API replica
to restart); any other answer is final and the caller reads it. Callbacks keep their
sequence number across tries, so the API applies each once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import httpx

DELAYS = (0.5, 1, 2, 4, 8, 16)

T = TypeVar("T")


class Transient(Exception):
    """An answer worth trying again for (5xx, 429)."""


def check(response: httpx.Response) -> httpx.Response:
    """`response`, unless it is transient: then Transient."""
    if response.status_code >= 500 or response.status_code == 429:
        raise Transient(f"HTTP {response.status_code}")
    return response


def retried(attempt: Callable[[], T], what: str, gave_up: Callable[[str], Exception]) -> T:
    """What `attempt()` returns, tried again after each of DELAYS while it raises
    Transient or httpx.TransportError; after the last try, `gave_up(message)` is raised
    (the message names `what` and the last failure). Anything else `attempt` raises
    goes through at once."""
    for delay in DELAYS:
        try:
            return attempt()
        except (Transient, httpx.TransportError):
            time.sleep(delay)
    try:
        return attempt()
    except (Transient, httpx.TransportError) as exc:
        reason = str(exc) or type(exc).__name__
        raise gave_up(f"{what}: no answer after {len(DELAYS)} retries ({reason})") from exc
