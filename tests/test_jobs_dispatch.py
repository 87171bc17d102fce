"""Dispatch end to end on the local runner: a real API process, real worker processes
calling back over HTTP, the event log read by a real client.
"""

from __future__ import annotations

import os
import time

import pytest

from tests.live import reconcile, wait_for


def test_a_diagnostic_job_runs_in_a_worker_process_and_reports_back(api):
    job = api.post("/api/v1/diagnostics/jobs", json={"heartbeats": 3, "interval": 0.05}).json()
    assert job["status"] == "queued" and job["runner"] == "local" and job["attempt"] == 1
    events = wait_for(api, job["id"], lambda p: p["terminal"])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    statuses = [e["data"]["status"] for e in events if e["type"] == "status"]
    assert statuses == ["pending", "queued", "running", "completed"]
    beats = [e for e in events if e["type"] == "heartbeat"]
    assert [b["data"]["progress"] for b in beats] == pytest.approx([100 / 3, 200 / 3, 100])
    done = api.get(f"/api/v1/diagnostics/jobs/{job['id']}").json()
    assert done["status"] == "completed" and done["progress_percent"] == 100
    # Reading from the middle gives exactly the rest.
    rest = api.get(f"/api/v1/jobs/{job['id']}/events", params={"after": 3}).json()["events"]
    assert [e["seq"] for e in rest] == [e["seq"] for e in events[3:]]


def test_a_failing_function_fails_the_job_with_its_reason(api):
    job = api.post(
        "/api/v1/diagnostics/jobs", json={"heartbeats": 1, "interval": 0, "fail": True}
    ).json()
    wait_for(api, job["id"], lambda p: p["terminal"])
    got = api.get(f"/api/v1/diagnostics/jobs/{job['id']}").json()
    assert got["status"] == "failed" and "failed on request" in got["error_message"]


def test_cancel_stops_the_worker_process_within_seconds(api):
    job = api.post("/api/v1/diagnostics/jobs", json={"heartbeats": 1000, "interval": 0.1}).json()
    events = wait_for(api, job["id"], lambda p: any(e["type"] == "heartbeat" for e in p["events"]))
    pid = int(next(e for e in events if e["type"] == "log")["data"]["message"].rsplit(" ", 1)[1])
    started = time.monotonic()
    r = api.post(f"/api/v1/diagnostics/jobs/{job['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    while os.path.exists(f"/proc/{pid}") and time.monotonic() - started < 10:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}"), "the worker still runs"
    assert api.post(f"/api/v1/diagnostics/jobs/{job['id']}/cancel").status_code == 409
    final = api.get(f"/api/v1/jobs/{job['id']}/events?after=0").json()
    statuses = [e["data"]["status"] for e in final["events"] if e["type"] == "status"]
    assert statuses[-1] == "cancelled" and final["terminal"]
    assert api.get(f"/api/v1/diagnostics/jobs/{job['id']}").json()["status"] == "cancelled"


def _wait_for_exit(api, job_id: str) -> None:  # type: ignore[no-untyped-def]
    events = wait_for(api, job_id, lambda p: any(e["type"] == "log" for e in p["events"]))
    pid = int(next(e for e in events if e["type"] == "log")["data"]["message"].rsplit(" ", 1)[1])
    deadline = time.monotonic() + 20
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_killed_worker_fails_its_job_through_the_reconciler(api, live_server):
    job = api.post(
        "/api/v1/diagnostics/jobs", json={"heartbeats": 10, "interval": 0.05, "crash_after": 2}
    ).json()
    _wait_for_exit(api, job["id"])
    assert api.get(f"/api/v1/diagnostics/jobs/{job['id']}").json()["status"] == "running"
    # (The pass covers every active job of the test database: check this one's fate.)
    assert "failed" in reconcile(live_server)
    got = api.get(f"/api/v1/diagnostics/jobs/{job['id']}").json()
    assert got["status"] == "failed"
    assert "Worker lost on attempt 1 of 1" in got["error_message"]
    assert "exited without reporting" in got["error_message"]


def test_a_lost_attempt_is_retried_as_a_new_attempt(api, live_server):
    job = api.post(
        "/api/v1/diagnostics/jobs",
        json={"heartbeats": 4, "interval": 0.05, "crash_after": 2, "max_attempts": 2},
    ).json()
    _wait_for_exit(api, job["id"])
    assert "retried" in reconcile(live_server)
    events = wait_for(api, job["id"], lambda p: p["terminal"])
    got = api.get(f"/api/v1/diagnostics/jobs/{job['id']}").json()
    assert got["status"] == "completed" and got["attempt"] == 2
    lost = next(e for e in events if e["type"] == "attempt_lost")
    assert lost["data"] == {"attempt": 1, "reason": lost["data"]["reason"], "retrying": True}
    assert [e["attempt"] for e in events if e["type"] == "heartbeat"][-4:] == [2, 2, 2, 2]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


def test_any_kind_of_job_is_cancelled_through_one_route(api):
    job = api.post("/api/v1/diagnostics/jobs", json={"heartbeats": 1000, "interval": 0.1}).json()
    wait_for(api, job["id"], lambda p: any(e["type"] == "heartbeat" for e in p["events"]))
    r = api.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert api.post(f"/api/v1/jobs/{job['id']}/cancel").json()["error"]["code"] == "job_ended"
