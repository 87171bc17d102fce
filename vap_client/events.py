"""Following a job's Server-Sent Events: parsed, resumed after a dropped connection with
`Last-Event-ID` (so nothing is missed or repeated), and ended after the job's last event.

The server closes a stream once the job has ended and every event was sent. A stream
can also end early: a proxy or a restarted API drops it, or (behind AWS Lambda) the
server answers only what is there with a `retry:` hint. After any end this asks the
JSON page `?after=N` whether the job is over, and otherwise connects again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import httpx

from vap_client.errors import ServerError, ServerUnreachable, from_response
from vap_client.models import EventsPage, JobEvent

if TYPE_CHECKING:
    from vap_client.transport import Transport

# Longer than the server's keep-alive comments (SSE_PING_SECONDS, 15 by default): a stream
# silent this long is dead, whatever TCP thinks.
READ_TIMEOUT_SECONDS = 60.0
_DEFAULT_RETRY_SECONDS = 2.0


def parse_sse(lines: Iterable[str]) -> Iterator[dict[str, str]]:
    """Each complete event of an SSE stream as {"id", "event", "data", "retry"} (those
    present). An event cut off by a dropped connection is never yielded."""
    current: dict[str, str] = {}
    for line in lines:
        if not line:
            if current:
                yield current
                current = {}
            continue
        if line.startswith(":"):  # a keep-alive comment
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data" and "data" in current:
            current["data"] += "\n" + value
        else:
            current[field] = value


def follow(
    transport: Transport,
    job_id: str,
    last_event_id: int | str | None = None,
    *,
    give_up_after: float = 300.0,
    on_reconnect: Callable[[int, Exception | None], None] | None = None,
) -> Iterator[JobEvent]:
    """The job's events after `last_event_id` (default: from the first), live, until the
    job has ended. A lost connection is resumed after the last event yielded; after
    `give_up_after` seconds without reaching the server the last error is raised.
    `on_reconnect(last_seq, error)` is told before each new connection."""
    last = int(last_event_id or 0)
    retry = _DEFAULT_RETRY_SECONDS
    failing_since: float | None = None
    attempt = 0
    error: Exception | None = None
    while True:
        if attempt and on_reconnect is not None:
            on_reconnect(last, error)
        attempt += 1
        error = None
        try:
            for raw in _stream(transport, job_id, last):
                failing_since = None
                if "retry" in raw and raw["retry"].isdigit():
                    retry = int(raw["retry"]) / 1000
                if "data" not in raw:
                    continue
                event = JobEvent.model_validate_json(raw["data"])
                if event.seq <= last:  # a server resuming too early: never a duplicate
                    continue
                last = event.seq
                yield event
        except (httpx.TransportError, ServerUnreachable, ServerError) as exc:
            # Dropped, or the API restarting behind a proxy (502/503): resume shortly.
            error = exc
            failing_since = failing_since or time.monotonic()
            if time.monotonic() - failing_since > give_up_after:
                raise
            time.sleep(min(0.2 * 2 ** min(attempt, 5), 5.0))
            continue
        # The stream ended cleanly: over, or a bounded catch-up. The JSON page says which.
        try:
            page = events_page(transport, job_id, last)
        except (httpx.TransportError, ServerUnreachable, ServerError) as exc:
            error = exc
            failing_since = failing_since or time.monotonic()
            if time.monotonic() - failing_since > give_up_after:
                raise
            time.sleep(retry)
            continue
        for event in page.events:
            if event.seq > last:
                last = event.seq
                yield event
        if page.terminal:
            return
        time.sleep(retry if not page.events else 0)


def _stream(transport: Transport, job_id: str, after: int) -> Iterator[dict[str, str]]:
    headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
    if after:
        headers["Last-Event-ID"] = str(after)
    timeout = httpx.Timeout(30.0, read=READ_TIMEOUT_SECONDS)
    request = transport._http.build_request(
        "GET",
        f"/api/v1/jobs/{job_id}/events",
        headers={**transport.auth_headers(), **headers},
        timeout=timeout,
    )
    try:
        response = transport._http.send(request, stream=True)
    except httpx.ConnectError as exc:
        raise ServerUnreachable(transport.base_url, str(exc) or type(exc).__name__) from exc
    try:
        if response.status_code >= 400:
            response.read()
            raise from_response(response)
        yield from parse_sse(response.iter_lines())
    finally:
        response.close()


def events_page(transport: Transport, job_id: str, after: int = 0) -> EventsPage:
    """The events after `after` as one JSON page (at most a few hundred), and whether the
    job has ended with nothing more to come."""
    response = transport.request("GET", f"/api/v1/jobs/{job_id}/events", params={"after": after})
    return EventsPage.model_validate(response.json())


def wait(
    transport: Transport,
    job_id: str,
    *,
    timeout: float | None = None,
    on_event: Callable[[JobEvent], None] | None = None,
) -> str:
    """Follow the job until it ends; its final status (completed, failed, cancelled).
    TimeoutError when an event arrives past `timeout` seconds (a running job sends
    heartbeats every few seconds)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    status = ""
    for event in follow(transport, job_id):
        if on_event is not None:
            on_event(event)
        status = event.terminal_status or status
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} did not end within {timeout} s")
    return status
