"""A plain Server-Sent Events reader over httpx, as any client would read the stream."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx


def events(response: httpx.Response) -> Iterator[dict[str, str]]:
    """Each event of a streaming response as {"id", "event", "data", "retry"} (those present)."""
    current: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if current:
                yield current
                current = {}
            continue
        if line.startswith(":"):  # a comment: keep-alive
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        current[field] = current.get(field, "") + value if field == "data" else value
    if current:
        yield current


def job_events(api: httpx.Client, job_id: str, timeout: float = 240) -> list[dict]:
    """Every event of a job ({seq, type, attempt, data, ...}), read live over SSE until
    the stream ends with the job."""
    found = []
    with api.stream(
        "GET", f"/api/v1/jobs/{job_id}/events", headers={"Accept": "text/event-stream"},
        timeout=httpx.Timeout(timeout, connect=10),
    ) as r:  # fmt: skip
        assert r.status_code == 200
        for event in events(r):
            if "data" in event:
                found.append(json.loads(event["data"]))
    return found
