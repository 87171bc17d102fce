"""A plain Server-Sent Events reader over httpx, as any client would read the stream."""

from __future__ import annotations

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
