"""The one HTTP client of a worker's file transfers: every GET and PUT of a presigned
URL (dataset files, weights, checkpoints, exports), from any thread.

A client per file cost a TLS context each (httpx loads the CA bundle into it, on the
CPU, even for plain http://) and a new connection each: a training job fetching the
digits' 1,800 small files spent ~30 s of its start on that
(benchmarks/training_throughput.py, "job created to its first epoch"). One client
builds its context once and keeps its connections open (httpx's Client is safe to
share between threads); `timeout` is given per request.
"""

from __future__ import annotations

import threading

import httpx

_lock = threading.Lock()
_client: httpx.Client | None = None


def http() -> httpx.Client:
    """This process's transfer client (made on first use)."""
    global _client
    with _lock:
        if _client is None:
            _client = httpx.Client()
        return _client
