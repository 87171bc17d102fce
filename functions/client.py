"""A function's side of the callbacks: numbered, retried, and listening for cancel.

Every callback carries the attempt and the next sequence number; transient failures
are retried (functions/retries.py) under the same number, so the API applies each once.
An ack that says `cancel` sets `cancelled` (so does SIGTERM, functions/harness.py).
A 409 means this attempt was superseded: the worker must stop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import httpx

from contract.jobs import (
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
from functions import transfers
from functions.retries import check, retried


class Superseded(Exception):
    """A newer attempt owns the job: this one must stop without reporting more."""


class CallbackRejected(Exception):
    """The API refused a callback for good (bad token, bad payload)."""


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

    def _send(self, path: str, body: Callback) -> CallbackAck:
        return CallbackAck.model_validate(self._post(path, body))

    def _post(self, path: str, body: Callback) -> dict[str, Any]:
        payload = body.model_dump(mode="json")
        r = retried(lambda: check(self.http.post(path, json=payload)), path, CallbackRejected)
        if r.status_code == 409:
            raise Superseded(r.text)
        if r.status_code >= 400:
            raise CallbackRejected(f"{path}: {r.status_code} {r.text[:500]}")
        answer: dict[str, Any] = r.json()
        self.cancelled = self.cancelled or bool(answer.get("cancel"))
        return answer

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
        params = {"offset": offset, "limit": limit}
        r = retried(
            lambda: check(self.http.get("inputs/files", params=params)),
            "inputs/files",
            CallbackRejected,
        )
        if r.status_code >= 400:
            raise CallbackRejected(f"inputs/files: {r.status_code} {r.text[:500]}")
        return r.json()  # type: ignore[no-any-return]

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

    def attempt() -> httpx.Response:
        with open(path, "rb") as f:
            return check(transfers.http().put(url, content=f, timeout=600))

    r = retried(attempt, f"upload of {path.name}", CallbackRejected)
    if r.status_code >= 300:
        raise CallbackRejected(f"upload of {path.name}: {r.status_code} {r.text[:300]}")
