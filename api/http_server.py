"""`vap serve`'s HTTP server: uvicorn, with bounds on what one client can make it hold.

Uvicorn's httptools protocol reads a request head of any size for as long as the client
likes: a 64 MB header was read for 23 s, growing the process by 128 MB, and then
answered; a socket that sends its head a byte at a time, or nothing at all, stays open
forever (its keep-alive timer starts only after a first response). This protocol is
uvicorn's, with two limits added:

- `HTTP_MAX_HEADER_KB`: a head (request line and headers) larger than this is answered
  431 and the connection closed. Bytes are counted as they arrive, so the server holds
  at most the limit and one socket read (256 KB) of a head, whatever its size.
- `HTTP_HEADER_TIMEOUT_SECONDS`: each request's head must be complete this long after
  the connection opened (the first request) or after its first byte (the next ones on
  a kept-alive connection); otherwise 408, or a silent close when nothing came at all.

Either refusal is written, then the server stops reading and half-closes, and closes for
good when the client does or after `_LINGER_SECONDS`: closing a socket that still has
unread input resets it, and a reset may destroy the answer before the client reads it.

The rest is uvicorn's own, set from settings by `uvicorn_options`: the idle keep-alive
timeout and a concurrency limit (503 beyond it). Only `vap serve` (and so the container
image) imports this module; under Lambda, API Gateway or the function URL is the front
door and enforces its own limits (README, "Limits of the HTTP front door").
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from api.settings import Settings, get_settings

# How long a refused connection is drained (its input read and dropped) before closing.
_LINGER_SECONDS = 2.0


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` that apply the HTTP_* settings."""
    return {
        "http": f"{__name__}:LimitedHttpToolsProtocol",
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        "limit_concurrency": settings.http_max_connections or None,
    }


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """Uvicorn's httptools protocol with a size limit and a deadline on request heads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.max_head_bytes = settings.http_max_header_kb * 1024
        self.head_timeout = settings.http_header_timeout_seconds
        self.reading_head = True  # false from a head's end to its request's end
        self.head_bytes = 0  # bytes received while reading the current head
        self.head_deadline: asyncio.TimerHandle | None = None
        self.refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # The first head's clock starts now: a connection that sends nothing is timed too.
        self._start_head_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_clock()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # draining before the close: the input is dropped unread
        if self.reading_head:
            self.head_bytes += len(data)
            if self.head_deadline is None:  # the first byte of a later request's head
                self._start_head_clock()
        super().data_received(data)
        if self.reading_head and self.head_bytes > self.max_head_bytes and not self.refused:
            self._refuse(431, "header_too_large", self._too_large_message())

    # Parser callbacks
    def on_headers_complete(self) -> None:
        self.reading_head = False
        self._stop_head_clock()
        # The exact size, for a head that arrived whole in one read: no request starts.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.max_head_bytes:
            self._refuse(431, "header_too_large", self._too_large_message())
            return  # the parser goes on through this read: refused, it is ignored
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self.refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self.refused:
            return
        super().on_message_complete()
        self.reading_head = True  # what comes next on this connection is a new head
        self.head_bytes = 0

    # The limits
    def _start_head_clock(self) -> None:
        self.head_deadline = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _stop_head_clock(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def _head_timed_out(self) -> None:
        self.head_deadline = None
        if self.refused or not self.reading_head or self.transport.is_closing():
            return
        if self.head_bytes == 0:
            # Nothing of a request came: no answer, which a client would read as the
            # answer to the request it may be about to send.
            self.refused = True
            self.transport.close()
            return
        message = f"The request's headers took longer than {self.head_timeout:g} s to arrive"
        self._refuse(408, "header_timeout", message)

    def _too_large_message(self) -> str:
        return f"The request's headers are larger than {self.max_head_bytes // 1024} KB"

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer `status` in the common error shape, then drain and close."""
        self.refused = True
        self._stop_head_clock()
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined request's answer is still being written: no room for another.
            self.transport.close()
            return
        body = json.dumps({"error": {"code": code, "message": message, "details": None}})
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body.encode())
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.flow.resume_reading()  # keep reading (and dropping) until the client closes
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)
