"""The README's first command, `./quickstart.sh`, run as a user runs it (with the smallest
settings) on a fresh data folder, twice: the whole chain must pass through the client,
and a second run on the same folder must work too. So the demo cannot rot."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _quickstart(tmp_path: Path, port: int) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {
        # A user with no configuration: nothing of the test session's settings leaks in.
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        "DATA_DIR": str(tmp_path / "data"),
        "VAP_CACHE_DIR": str(tmp_path / "cache"),
        "VAP_VENV": sys.prefix,  # this virtualenv has the project: no second install
    }
    started = time.monotonic()
    run = subprocess.run(
        ["./quickstart.sh", "--smoke", "--exit", "--port", str(port)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
    )
    return run, time.monotonic() - started


@pytest.mark.timeout(900)
def test_quickstart_runs_the_whole_chain_and_again_on_the_same_data(tmp_path):
    port = _free_port()
    first, seconds = _quickstart(tmp_path, port)
    print(f"./quickstart.sh --smoke --exit, first run: {seconds:.0f} s")
    out = first.stdout
    assert first.returncode == 0, out[-4000:] + first.stderr[-4000:]
    assert f"Starting the API on http://127.0.0.1:{port}" in out
    assert "(admin, created)" in out and "200 images of 10 digits" in out
    assert "epoch 1: accuracy" in out and "training completed" in out
    assert "test run completed" in out and "export completed" in out
    assert "API key (shown once): " in out
    assert "truth: digit_7; the model says digit_" in out
    assert "requests this month: 1 " in out
    assert f"http://127.0.0.1:{port}/docs" in out and "/v1/infer/" in out
    assert (tmp_path / "data" / "vap.db").exists()
    with pytest.raises(httpx.TransportError):  # --exit stopped the server it started
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)

    second, seconds = _quickstart(tmp_path, port)
    print(f"./quickstart.sh --smoke --exit, second run: {seconds:.0f} s")
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    assert "(admin, exists)" in second.stdout and "reusing dataset" in second.stdout
    assert "truth: digit_7" in second.stdout
