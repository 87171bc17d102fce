"""The one harness every job function runs in, the same under every runner.

`run_spec` is the one entry point: the local runner's `python -m functions SPEC_FILE`,
the Docker image's `python -m functions` (the spec in VAP_JOB_SPEC) and modal_app.py's
functions all come here. It
- checks the spec's contract version;
- keeps every framework off the network (trainers/offline.py) before the function's
  module, and so any framework, is imported;
- turns SIGTERM (a runner's cancel, a preemption) into `client.cancelled`, which the
  functions check between steps, as they check an ack's `cancel`;
- gives the function a temporary folder, removed however the function ends;
- reports the end: `done(completed)` with the function's metrics, or `done(failed)`
  with the message the API shows ("ValueError: ...") and the traceback as an error log
  event. Nothing more when the job was cancelled (the API knows) or superseded (a newer
  attempt owns the job).

A function module (contract.jobs.FUNCTION_FOR_KIND names it) holds only what is its
own: `run(client, work) -> Finished | None`, None when it stopped on a cancel.
"""

from __future__ import annotations

import importlib
import signal
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract.jobs import CONTRACT_VERSION, FUNCTION_FOR_KIND, JobSpec
from functions.client import JobClient, Superseded

# What the API keeps of a failure's message and of its traceback (a log event).
ERROR_CHARS = 2000
TRACEBACK_CHARS = 4000


@dataclass(frozen=True)
class Finished:
    """How a function ended: `completed` with `metrics`, or, when `error` is set,
    `failed` with that message (and `metrics` still recorded)."""

    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


Function = Callable[[JobClient, Path], Finished | None]


def run_spec(spec: dict[str, Any] | JobSpec) -> int:
    """Run the function the spec's kind names; the exit status: 0 when the job ended
    as it should be recorded (completed, cancelled, superseded), 1 when it failed.
    SystemExit when the spec speaks another contract version."""
    job = spec if isinstance(spec, JobSpec) else JobSpec.model_validate(spec)
    if job.version != CONTRACT_VERSION:
        raise SystemExit(f"Job spec version {job.version}, this worker speaks {CONTRACT_VERSION}")
    name = FUNCTION_FOR_KIND[job.kind]
    _stay_offline()
    function: Function = importlib.import_module(f"functions.{name}").run
    client = JobClient(job)
    try:
        return run(function, client, prefix=f"vap-{name}-{job.job_id[:8]}-")
    except Superseded:
        return 0


def run(function: Function, client: JobClient, prefix: str = "vap-job-") -> int:
    """`function` inside the harness: SIGTERM cancels, a temporary folder (its name
    starting with `prefix`), the end reported. Superseded goes through to the caller."""
    with _sigterm_cancels(client):
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            try:
                end = function(client, Path(tmp))
            except Superseded:
                raise
            except Exception as exc:  # the job fails saying why; the traceback goes to the log
                if client.cancelled:
                    return 0
                tail = traceback.format_exc()[-TRACEBACK_CHARS:]
                client.event("log", level="error", message=tail)
                client.done("failed", error=f"{type(exc).__name__}: {exc}"[:ERROR_CHARS])
                return 1
        if end is None or client.cancelled:
            return 0  # the API knows: it cancelled us (or the machine is going away)
        if end.error is not None:
            client.done("failed", metrics=end.metrics, error=end.error[:ERROR_CHARS])
            return 1
        client.done("completed", metrics=end.metrics)
        return 0


def _stay_offline() -> None:
    try:
        from trainers import offline
    except ImportError:
        return  # a worker without the trainers (the diagnostic-only test image) has no framework
    offline.apply()


@contextmanager
def _sigterm_cancels(client: JobClient) -> Iterator[None]:
    """SIGTERM sets `client.cancelled` while the function runs (the previous handler is
    back afterwards). Only the main thread may take signals: elsewhere (Modal's `.local()`
    in a thread) a cancel still arrives in the acks."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: Any) -> None:
        client.cancelled = True

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
