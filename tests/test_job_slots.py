"""Fair limits on jobs, by role: how many run at once, how many wait (in `queued`, with
their place in line), a 429 beyond that with nothing kept, what one job may ask; and a
lost attempt's process is ended before another takes its place. Against a real API
process with the default limits (the suite's own are generous: tests/conftest.py)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from api.db.models import DiagnosticJob
from api.db.session import new_session
from api.settings import DEFAULT_JOB_LIMITS, get_settings
from tests.conftest import api_process, logged_in

GUEST = DEFAULT_JOB_LIMITS["guest"]
LONG = {"heartbeats": 1000, "interval": 0.5}  # 500 s: within a guest's 2 hours


@pytest.fixture(scope="module")
def strict_server(database):  # type: ignore[no-untyped-def]
    with api_process(JOB_LIMITS="{}") as base:  # every role at its defaults
        yield base


def _count(api) -> int:  # type: ignore[no-untyped-def]
    """The account's diagnostic jobs, as the database holds them."""
    user_id = uuid.UUID(api.get("/api/v1/auth/me").json()["id"])
    with new_session() as db:
        return db.query(DiagnosticJob).filter_by(user_id=user_id).count()


def _job(api, job_id: str) -> dict:  # type: ignore[no-untyped-def]
    return api.get(f"/api/v1/diagnostics/jobs/{job_id}").json()  # type: ignore[no-any-return]


def _wait(api, job_id: str, check, timeout: float = 30) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        job = _job(api, job_id)
        if check(job) or time.monotonic() > deadline:
            return job  # type: ignore[no-any-return]
        time.sleep(0.2)


def test_a_guest_runs_one_job_others_wait_in_line_and_more_are_refused(strict_server):
    api = logged_in(strict_server, "guest")  # a new account is a guest
    try:
        jobs = [api.post("/api/v1/diagnostics/jobs", json=LONG) for _ in range(1 + GUEST.waiting)]
        assert [r.status_code for r in jobs] == [201] * (1 + GUEST.waiting), jobs[-1].text
        first, *waiting = [r.json() for r in jobs]
        assert first["queue_position"] is None and first["attempt"] == 1
        assert [j["status"] for j in waiting] == ["queued"] * GUEST.waiting
        assert [j["queue_position"] for j in waiting] == list(range(1, GUEST.waiting + 1))
        assert all(j["attempt"] == 0 for j in waiting)  # no worker started for them
        events = api.get(f"/api/v1/jobs/{waiting[1]['id']}/events?after=0").json()["events"]
        assert events[-1]["data"]["waiting"] is True and events[-1]["data"]["queue_position"] == 2

        refused = api.post("/api/v1/diagnostics/jobs", json=LONG)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "too_many_jobs" and refused.headers["Retry-After"]
        assert _count(api) == 1 + GUEST.waiting  # nothing kept

        # The running job ends: the first in line takes its slot, the rest move up.
        assert api.post(f"/api/v1/diagnostics/jobs/{first['id']}/cancel").status_code == 200
        promoted = _job(api, waiting[0]["id"])
        assert promoted["queue_position"] is None and promoted["attempt"] == 1
        assert promoted["status"] in ("queued", "running")
        assert [_job(api, j["id"])["queue_position"] for j in waiting[1:]] == [1, 2]
        # A waiting job cancelled leaves the line; those behind it move up.
        assert api.post(f"/api/v1/diagnostics/jobs/{waiting[1]['id']}/cancel").status_code == 200
        assert _job(api, waiting[2]["id"])["queue_position"] == 1
        running = [j for j in (_job(api, j["id"]) for j in waiting) if j["attempt"] == 1]
        assert [j["id"] for j in running] == [waiting[0]["id"]]  # still one at a time
    finally:
        for r in jobs:
            api.post(f"/api/v1/diagnostics/jobs/{r.json()['id']}/cancel")
        api.close()


def test_what_one_job_may_ask_is_bounded_by_role(strict_server):
    api = logged_in(strict_server, "guest")
    try:
        cases = [
            ({"max_attempts": GUEST.max_attempts + 1}, "max_attempts: a guest may ask at most"),
            ({"timeout_seconds": int(GUEST.max_timeout_hours * 3600) + 60}, "timeout_seconds"),
            ({"heartbeats": 10_000, "interval": 600}, "must fit in timeout_seconds"),
        ]
        for body, message in cases:
            r = api.post("/api/v1/diagnostics/jobs", json=body)
            assert r.status_code == 422 and message in r.json()["error"]["message"], r.text
        assert _count(api) == 0
        # Left at their defaults, they are held to the role's most instead.
        job = api.post("/api/v1/diagnostics/jobs", json={"heartbeats": 1}).json()
        assert job["max_attempts"] <= GUEST.max_attempts
    finally:
        api.close()


def test_a_lost_attempt_is_ended_before_the_next_one_starts(live_server, make_user):
    """A worker that went silent but lives on (here: asleep, and ignoring SIGTERM as the
    diagnostic function does between heartbeats) is killed when its attempt is replaced."""
    from api.services.jobs.reconciler import reconcile
    from tests.jobs import job_to_dispatch, row, submit

    user = make_user("engineer_i")
    settings = get_settings().model_copy(update={"api_base_url": live_server})
    job_id = job_to_dispatch(user.id, "local", max_attempts=2, heartbeats=3, interval=300)
    first = submit(job_id, settings)
    pid = int(first.runner_ref.rsplit(":", 1)[1])
    deadline = time.monotonic() + 30
    while row(job_id).last_heartbeat_at is None and time.monotonic() < deadline:
        time.sleep(0.2)  # its first heartbeat is in; the next is 300 s away
    assert _alive(pid)
    with new_session() as db:
        db.get(DiagnosticJob, job_id).last_heartbeat_at = datetime.now(UTC) - timedelta(hours=1)
        db.commit()
    with new_session() as db:
        assert str(job_id) in reconcile(db, settings).retried
    assert not _alive(pid)
    second = row(job_id)
    assert second.attempt == 2 and second.runner_ref != first.runner_ref
    with new_session() as db:  # the new attempt is not needed past this point
        from api.db.models import User
        from api.services.jobs import lookup

        lookup.cancel(db, settings, db.get(User, uuid.UUID(user.id)), DiagnosticJob, job_id)


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
