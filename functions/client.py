"""A function's side of the callbacks: numbered, retried, and listening for cancel.

Every callback carries the attempt and the next sequence number; transient failures
(connection errors, 5xx, 429) are retried with backoff under the same number, so the
API applies each once. A 409 means this attempt was superseded: the worker must stop.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Literal

import httpx

from contract.jobs import (
    CONTRACT_VERSION,
    ArtifactRequest,
    ArtifactUrls,
    Callback,
    CallbackAck,
    Done,
    Event,
    Heartbeat,
    JobSpec,
    Validation,
)

_RETRY_DELAYS = (0.5, 1, 2, 4, 8, 16)


class Superseded(Exception):
    """A newer attempt owns the job: this one must stop without reporting more."""


class CallbackRejected(Exception):
    """The API refused a callback for good (bad token, bad payload)."""


def load_spec(argv: list[str]) -> JobSpec:
    """The JobSpec from the file named on the command line (or JSON on stdin)."""
    raw = Path(argv[1]).read_text() if len(argv) > 1 else sys.stdin.read()
    spec = JobSpec.model_validate(json.loads(raw))
    if spec.version != CONTRACT_VERSION:
        raise SystemExit(f"Job spec version {spec.version}, this worker speaks {CONTRACT_VERSION}")
    return spec


class JobClient:
    def __init__(self, spec: JobSpec, http: httpx.Client | None = None) -> None:
        self.spec = spec
        self.seq = 0
        self.cancelled = False
        self.http = http or httpx.Client(
            base_url=spec.callback_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {spec.callback_token}"},
            timeout=30,
        )
        self._previous_sigterm: Any = None

    def listen_for_termination(self) -> None:
        """Turn SIGTERM (runner cancel, preemption) into `cancelled`, checked between steps."""

        def on_term(signum: int, frame: Any) -> None:
            self.cancelled = True

        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may take signals; cancel still comes in acks
        self._previous_sigterm = signal.signal(signal.SIGTERM, on_term)

    def _send(self, path: str, body: Callback) -> CallbackAck:
        return CallbackAck.model_validate(self._post(path, body))

    def _post(self, path: str, body: Callback) -> dict[str, Any]:
        payload = body.model_dump(mode="json")
        for delay in (*_RETRY_DELAYS, None):
            try:
                r = self.http.post(path, json=payload)
            except httpx.TransportError:
                r = None
            if r is not None and r.status_code < 500 and r.status_code != 429:
                if r.status_code == 409:
                    raise Superseded(r.text)
                if r.status_code >= 400:
                    raise CallbackRejected(f"{path}: {r.status_code} {r.text[:500]}")
                answer: dict[str, Any] = r.json()
                self.cancelled = self.cancelled or bool(answer.get("cancel"))
                return answer
            if delay is None:
                break
            time.sleep(delay)
        raise CallbackRejected(f"{path}: the API did not answer after {len(_RETRY_DELAYS)} retries")

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def heartbeat(self, **fields: Any) -> CallbackAck:
        return self._send(
            "heartbeat", Heartbeat(attempt=self.spec.attempt, seq=self._next(), **fields)
        )

    def event(self, type: str, **data: Any) -> CallbackAck:
        return self._send(
            "event", Event(attempt=self.spec.attempt, seq=self._next(), type=type, data=data)
        )

    def validation(self, **fields: Any) -> CallbackAck:
        return self._send(
            "validation", Validation(attempt=self.spec.attempt, seq=self._next(), **fields)
        )

    def artifact_urls(self, names: list[str]) -> ArtifactUrls:
        body = ArtifactRequest(attempt=self.spec.attempt, seq=self._next(), names=names)
        return ArtifactUrls.model_validate(self._post("artifacts", body))

    def upload(self, name: str, path: Path) -> str:
        """Upload a file under the job's storage prefix; its storage key."""
        answer = self.artifact_urls([name])
        put_file(answer.urls[name], path)
        return answer.keys[name]

    def input_files(self, offset: int, limit: int = 1000) -> dict[str, Any]:
        """A page of the job's dataset files: {"total", "files": [{path, size, sha256, url}]}."""
        for delay in (*_RETRY_DELAYS, None):
            try:
                r = self.http.get("inputs/files", params={"offset": offset, "limit": limit})
            except httpx.TransportError:
                r = None
            if r is not None and r.status_code < 500:
                if r.status_code >= 400:
                    raise CallbackRejected(f"inputs/files: {r.status_code} {r.text[:500]}")
                return r.json()  # type: ignore[no-any-return]
            if delay is None:
                break
            time.sleep(delay)
        raise CallbackRejected("inputs/files: the API did not answer")

    def done(
        self,
        status: Literal["completed", "failed"],
        metrics: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> CallbackAck:
        body = Done(
            attempt=self.spec.attempt,
            seq=self._next(),
            status=status,
            metrics=metrics or {},
            error=error,
        )
        return self._send("done", body)


def put_file(url: str, path: Path) -> None:
    """PUT a file to a presigned URL, retrying transient failures. Thread-safe: it sends
    no callback, so it may run beside the training loop."""
    for delay in (*_RETRY_DELAYS, None):
        try:
            with open(path, "rb") as f:
                r = httpx.put(url, content=f, timeout=600)
            if r.status_code < 300:
                return
            if r.status_code < 500:
                raise CallbackRejected(f"upload of {path.name}: {r.status_code} {r.text[:300]}")
        except httpx.TransportError:
            pass
        if delay is None:
            break
        time.sleep(delay)
    raise CallbackRejected(f"upload of {path.name}: storage did not answer")
