"""The demo's API: the one answering on the port, or `vap serve` started in the background
on the embedded defaults (SQLite, local storage, local runner under DATA_DIR)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx


def answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code in (200, 503)
    except httpx.HTTPError:
        return False


def serves_console(base: str) -> bool:
    """Whether the API at `base` serves the web console at / (its build, web/dist, exists)."""
    try:
        r = httpx.get(f"{base}/", timeout=2)
    except httpx.HTTPError:
        return False
    return r.status_code == 200 and r.headers.get("content-type", "").startswith("text/html")


def start(host: str, port: int, log_path: Path, timeout: float = 180) -> subprocess.Popen[bytes]:
    """`vap serve` on host:port with this interpreter, its output in `log_path`; returns
    once it answers. RuntimeError with the log's tail when it does not come up."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    command = [sys.executable, "-m", "api.cli", "serve", "--host", host, "--port", str(port)]
    # Its own session: Ctrl-C in the terminal reaches the demo, which stops it in order.
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://{host}:{port}"
    deadline = time.monotonic() + timeout
    try:
        while not answers(base):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(
                    f"the API did not start on {base}; its log ({log_path}):\n{tail}"
                )
            time.sleep(0.3)
    except BaseException:  # also Ctrl-C while waiting: never leave it running
        stop(proc)
        raise
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def data_dir() -> Path:
    """Where `vap serve` keeps its database and files (the DATA_DIR setting's default)."""
    return Path(os.environ.get("DATA_DIR") or "data")
