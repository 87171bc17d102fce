"""A real API process for the benchmarks: uvicorn on a free loopback port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx


def start_api(env: dict[str, str], workers: int = 1) -> tuple[subprocess.Popen, str]:
    """Start `uvicorn api.main:app` with `env` (API_BASE_URL added) and `workers`
    processes; the process and its base URL once /health answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port)]
    command += ["--log-level", "warning", "--workers", str(workers)]
    proc = subprocess.Popen(
        command,
        env={**env, "API_BASE_URL": base},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the API did not start")
