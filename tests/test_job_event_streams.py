"""Watching a job over Server-Sent Events from a real HTTP client: complete, resumable
with Last-Event-ID, by stream token for browsers, and bounded under Lambda."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from api.db.models import JobStatus
from tests import sse
from tests.jobs import diagnostic_job


@pytest.fixture()
def api(live_server):  # type: ignore[no-untyped-def]
    email = f"sse-{uuid.uuid4().hex[:8]}@example.com"
    password = "stream tests password"
    with httpx.Client(base_url=live_server, timeout=60) as c:
        c.post("/api/v1/auth/register", json={"email": email, "password": password})
        token = c.post("/api/v1/auth/login", data={"username": email, "password": password}).json()[
            "access_token"
        ]
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def _stream(api, job_id: str, headers: dict[str, str] | None = None, params: dict | None = None):  # type: ignore[no-untyped-def]
    return api.stream(
        "GET",
        f"/api/v1/jobs/{job_id}/events",
        headers={"Accept": "text/event-stream", **(headers or {})},
        params=params,
    )


def test_a_stream_delivers_every_event_in_order_and_ends_with_the_job(api):
    job = api.post("/api/v1/diagnostics/jobs", json={"heartbeats": 5, "interval": 0.05}).json()
    with _stream(api, job["id"]) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        got = list(sse.events(r))  # returns: the server closed the stream after the last event
    assert [int(e["id"]) for e in got] == list(range(1, len(got) + 1))
    assert got[0]["retry"] == "2000"
    last = json.loads(got[-1]["data"])
    assert got[-1]["event"] == "status" and last["data"]["status"] == "completed"
    assert sum(e["event"] == "heartbeat" for e in got) == 5


def test_resuming_with_last_event_id_gives_no_gap_and_no_duplicate(api):
    job = api.post("/api/v1/diagnostics/jobs", json={"heartbeats": 15, "interval": 0.1}).json()
    first: list[dict] = []
    with _stream(api, job["id"]) as r:
        for event in sse.events(r):
            first.append(event)
            if len(first) == 4:
                break  # the client goes away mid-job
    with _stream(api, job["id"], headers={"Last-Event-ID": first[-1]["id"]}) as r:
        rest = list(sse.events(r))
    ids = [int(e["id"]) for e in first + rest]
    assert ids == list(range(1, len(ids) + 1))
    assert json.loads(rest[-1]["data"])["data"]["status"] == "completed"


def test_browsers_stream_with_a_short_lived_token_in_the_query(api, live_server):
    job = api.post("/api/v1/diagnostics/jobs", json={"heartbeats": 1, "interval": 0}).json()
    other = api.post("/api/v1/diagnostics/jobs", json={"heartbeats": 1, "interval": 0}).json()
    token = api.post(f"/api/v1/jobs/{job['id']}/stream-token").json()["token"]
    with httpx.Client(base_url=live_server, timeout=60) as browser:  # no Authorization header
        with browser.stream(
            "GET", f"/api/v1/jobs/{job['id']}/events", params={"token": token}
        ) as r:
            assert r.status_code == 200
            assert list(sse.events(r))[0]["id"] == "1"
        r = browser.get(f"/api/v1/jobs/{other['id']}/events", params={"token": token})
        assert r.status_code == 403
        r = browser.get(f"/api/v1/jobs/{job['id']}/events", params={"token": "garbage"})
        assert r.status_code == 401
        assert browser.get(f"/api/v1/jobs/{job['id']}/events").status_code == 401


def test_under_lambda_the_stream_is_a_bounded_catch_up(client, make_user, monkeypatch):
    owner = make_user("engineer_i")
    job_id = diagnostic_job(owner.id, heartbeats=3, status=JobStatus.RUNNING)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "vap-api")
    r = client.get(
        f"/api/v1/jobs/{job_id}/events",
        headers={"Accept": "text/event-stream", "Last-Event-ID": "1", **owner.headers},
    )
    got = list(sse.events(r))  # the job still runs, yet the answer is complete
    assert [e["id"] for e in got] == ["2", "3"] and got[0]["retry"] == "2000"


def test_a_quiet_stream_gets_keep_alive_comments(app, client, make_user):
    from api.deps import current_settings
    from api.settings import get_settings

    owner = make_user("engineer_i")
    job_id = diagnostic_job(owner.id, heartbeats=1, status=JobStatus.RUNNING)
    app.dependency_overrides[current_settings] = lambda: get_settings().model_copy(
        update={"sse_ping_seconds": 0.3}
    )
    comments = []
    try:
        headers = {"Accept": "text/event-stream", **owner.headers}
        with client.stream("GET", f"/api/v1/jobs/{job_id}/events", headers=headers) as r:
            for line in r.iter_lines():
                if line.startswith(":"):
                    comments.append(line)
                    if len(comments) == 2:
                        break  # the job never ends: the client leaves
    finally:
        app.dependency_overrides.pop(current_settings)
    assert len(comments) == 2


def test_an_event_appended_while_a_stream_reads_still_wakes_it(make_user):  # type: ignore[no-untyped-def]
    """The NOTIFY of an event that lands between a stream's read and its next wait is
    kept for that wait (before, the stream slept its whole fallback interval)."""
    import asyncio

    from api.db.models import DiagnosticJob
    from api.db.session import new_session
    from api.services.jobs import events
    from api.services.jobs.wakeups import Wakeups
    from api.settings import get_settings

    job_id = diagnostic_job(make_user("engineer_i").id, status=JobStatus.RUNNING)

    def append() -> None:
        with new_session() as db:
            events.append(db, db.get(DiagnosticJob, job_id), "log", {"line": "meanwhile"})
            db.commit()

    async def scenario() -> tuple[bool, bool]:
        wakeups = Wakeups(get_settings())
        with wakeups.watch(str(job_id)) as watch:
            await asyncio.wait_for(wakeups.listening.wait(), 30)
            await asyncio.to_thread(append)  # "while the stream reads"
            await asyncio.sleep(0.5)  # the NOTIFY arrives before the stream waits
            woken = await watch.wait(timeout=30)
            quiet = await watch.wait(timeout=0.2)  # nothing new since: times out
        assert wakeups.listener is not None
        wakeups.listener.cancel()
        return woken, quiet

    assert asyncio.run(scenario()) == (True, False)
