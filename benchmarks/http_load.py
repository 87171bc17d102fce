"""A lean HTTP/1.1 load generator: raw keep-alive connections on asyncio, requests
serialized to bytes before the clock starts.

Why not httpx: on this 2-core machine the client shares the cores with the server and
PostgreSQL, and httpx spends ~0.5 ms of Python per request, about as much as the
server's own work, so it measured the client as much as the server. Real callers of
the callback endpoints are workers on other machines; this client costs a few tens of
microseconds per request, so the figures are the server's.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


def request_bytes(
    base: str, method: str, path: str, body: dict | None = None, headers: dict | None = None
) -> bytes:
    host = urlsplit(base).netloc
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    payload = b""
    if body is not None:
        payload = json.dumps(body).encode()
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


@dataclass
class Result:
    seconds: float  # for all requests
    latencies: list[float] = field(default_factory=list)  # each request's, in seconds
    bodies: list[bytes] = field(default_factory=list)  # each response's

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length) if length else b""


async def _run(bases: list[str], streams: list[list[bytes]]) -> Result:
    result = Result(0.0)

    async def connection(base: str, requests: list[bytes]) -> None:
        url = urlsplit(base)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        try:
            for raw in requests:
                t = time.perf_counter()
                writer.write(raw)
                status, body = await _read_response(reader)
                result.latencies.append(time.perf_counter() - t)
                result.bodies.append(body)
                if status >= 300:
                    raise RuntimeError(f"HTTP {status} for {raw[:80]!r}: {body[:200]!r}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection(bases[i % len(bases)], s) for i, s in enumerate(streams)))
    result.seconds = time.perf_counter() - started
    return result


def load(bases: str | list[str], streams: list[list[bytes]]) -> Result:
    """Send each stream's requests in order on a keep-alive connection of its own, all
    streams at once (one request in flight on each, like one worker reporting on its
    job). With several server `bases` (replicas), the connections are spread over them
    evenly, as a balancer would."""
    return asyncio.run(_run([bases] if isinstance(bases, str) else bases, streams))


class Connection:
    """One blocking keep-alive connection, for calls one at a time interleaved with
    other work (a benchmark alternating figures call by call)."""

    def __init__(self, base: str) -> None:
        url = urlsplit(base)
        self._socket = socket.create_connection((url.hostname, url.port))
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._file = self._socket.makefile("rb")

    def call(self, raw: bytes) -> tuple[float, bytes]:
        """The seconds from sending `raw` to the whole answer, and its body."""
        t = time.perf_counter()
        self._socket.sendall(raw)
        length, status = 0, int(self._file.readline()[9:12])
        while (line := self._file.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        body = self._file.read(length)
        elapsed = time.perf_counter() - t
        if status >= 300:
            raise RuntimeError(f"HTTP {status} for {raw[:80]!r}: {body[:200]!r}")
        return elapsed, body

    def close(self) -> None:
        self._file.close()
        self._socket.close()
