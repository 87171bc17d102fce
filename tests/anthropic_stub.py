"""A stand-in for Anthropic's Messages API on loopback, for the real `anthropic` SDK.

It answers `POST /v1/messages` with scripted replies in the API's own JSON format (tool
use, text, errors, malformed bodies, slow answers) and records every request it gets,
so tests can check what the SDK sent: the tools, the system prompt, the messages.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int
    body: bytes
    delay: float = 0.0


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    json: dict[str, Any] = field(default_factory=dict)


def _message(content: list[dict[str, Any]], stop_reason: str) -> dict[str, Any]:
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": "claude-stand-in",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 321, "output_tokens": 54},
    }


def tool_use(name: str, tool_input: Any, text: str | None = None, delay: float = 0.0) -> Reply:
    """Claude calling tool `name` with `tool_input` (after an optional text block)."""
    content = [{"type": "text", "text": text}] if text else []
    content.append({"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:24]}", "name": name,
                    "input": tool_input})  # fmt: skip
    return Reply(200, json.dumps(_message(content, "tool_use")).encode(), delay)


def text_only(text: str) -> Reply:
    """Claude answering in prose, calling no tool."""
    return Reply(200, json.dumps(_message([{"type": "text", "text": text}], "end_turn")).encode())


def error(status: int, kind: str, message: str = "stand-in error") -> Reply:
    """An error in the API's shape: api_error (500), overloaded_error (529), ..."""
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return Reply(status, json.dumps(body).encode())


def raw(status: int, body: bytes) -> Reply:
    return Reply(status, body)


class MessagesStub:
    """The stand-in server. `respond(...)` queues replies, one per request, in order;
    `requests` holds what arrived. With nothing queued it answers 500."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length)
                try:
                    body = json.loads(data)
                except ValueError:
                    body = {"unparsed": data.decode(errors="replace")}
                with stub._lock:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    stub.requests.append(Request(self.path, headers, body))
                    reply = (
                        stub._replies.popleft()
                        if stub._replies
                        else error(500, "api_error", "nothing scripted")
                    )
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.send_header("request-id", f"req_{uuid.uuid4().hex[:12]}")
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the slow reply's point)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def respond(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._replies.clear()
            self.requests.clear()

    def __enter__(self) -> MessagesStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
