"""Helpers for tests against the live API process (the `live_server` and `api` fixtures)."""

from __future__ import annotations

import os
import time


def wait_for(api, job_id: str, predicate, timeout: float = 60) -> list[dict]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = api.get(f"/api/v1/jobs/{job_id}/events?after=0").json()
        if predicate(page):
            return page["events"]
        time.sleep(0.1)
    raise AssertionError(
        f"timed out; events: {api.get(f'/api/v1/jobs/{job_id}/events?after=0').json()}"
    )


def reconcile(live_server: str) -> str:
    """`vap reconcile` as an operator (or the serve loop) runs it, against the live API's
    database, with the live API's URL for the workers it starts."""
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "API_BASE_URL": live_server, "PYTHONPATH": str(Path(__file__).parents[1])}
    out = subprocess.run(
        [sys.executable, "-m", "api.cli", "reconcile"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout
