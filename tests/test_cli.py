"""`vap serve` and `vap db` as a user runs them: real processes, real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user with no configuration at all."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return {**keep, "PYTHONPATH": str(ROOT), **extra}


def _vap(*args: str) -> list[str]:
    return [sys.executable, "-m", "api.cli", *args]


def test_serve_on_embedded_defaults_migrates_sqlite_and_answers_over_http(tmp_path):
    port = _free_port()
    proc = subprocess.Popen(
        _vap("serve", "--port", str(port)),
        cwd=tmp_path,
        env=_clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert health.status_code == 200
        assert health.json()["checks"]["database"]["backend"] == "sqlite"
        assert health.json()["checks"]["storage"]["backend"] == "local"

        r = httpx.post(
            f"{base}/api/v1/auth/register",
            json={"email": "me@example.com", "password": "longenough"},
        )
        assert r.status_code == 201 and r.json()["role"] == "admin"  # first account of the install
        token = httpx.post(
            f"{base}/api/v1/auth/login",
            data={"username": "me@example.com", "password": "longenough"},
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        me = httpx.get(f"{base}/api/v1/auth/me", headers=auth)
        assert me.json()["email"] == "me@example.com"
        # A job's worker calls back on the port given to `vap serve`, with no other setting.
        job = httpx.post(
            f"{base}/api/v1/diagnostics/jobs", json={"heartbeats": 2, "interval": 0}, headers=auth
        ).json()
        deadline = time.monotonic() + 60
        while (
            httpx.get(f"{base}/api/v1/diagnostics/jobs/{job['id']}", headers=auth).json()["status"]
            != "completed"
        ):
            assert time.monotonic() < deadline, "the job did not complete"
            time.sleep(0.2)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    # Everything embedded lands in ./data of the working directory, and it says where it is.
    assert (tmp_path / "data" / "vap.db").exists()
    assert (tmp_path / "data" / "storage").is_dir()
    assert f"http://127.0.0.1:{port}" in out


def test_db_upgrade_then_current_reports_the_head_revision(tmp_path):
    env = _clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/cli.db")
    before = subprocess.run(
        _vap("db", "current"), cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert "empty" in before.stdout
    up = subprocess.run(
        _vap("db", "upgrade"), cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert up.returncode == 0, up.stderr
    after = subprocess.run(
        _vap("db", "current"), cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert after.stdout.strip() and "empty" not in after.stdout
    assert after.stdout.strip() in up.stdout
