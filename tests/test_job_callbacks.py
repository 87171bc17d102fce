"""The callback rules: job-scoped tokens, each (attempt, seq) applied once and never
backwards, superseded attempts refused, nothing applied after the job ended."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from api.auth.tokens import encode_token
from api.db.models import DiagnosticJob, JobKind, JobStatus
from api.db.session import new_session
from api.services.jobs import events, tokens
from api.settings import get_settings


def _job(user_id: str, status: JobStatus = JobStatus.QUEUED, attempt: int = 1) -> uuid.UUID:
    """A dispatched diagnostic job as the dispatcher leaves it (no runner needed here)."""
    with new_session() as db:
        job = DiagnosticJob(
            user_id=uuid.UUID(user_id), task_type="diagnostic", framework="none",
            status=status, attempt=attempt, runner="local",
        )  # fmt: skip
        db.add(job)
        db.flush()
        events.append(db, job, "status", {"status": status.value})
        db.commit()
        return job.id


def _token(job_id: uuid.UUID, attempt: int = 1) -> dict[str, str]:
    t = tokens.create(get_settings(), job_id, JobKind.DIAGNOSTIC, attempt, 600)
    return {"Authorization": f"Bearer {t}"}


@pytest.fixture()
def owner(make_user):  # type: ignore[no-untyped-def]
    return make_user("engineer_i")


def _events(client, owner, job_id) -> list[dict]:  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/jobs/{job_id}/events?after=0", headers=owner.headers).json()[
        "events"
    ]


def test_tokens_are_scoped_to_their_job_and_expire(client, owner):
    job, other = _job(owner.id), _job(owner.id)
    body = {"attempt": 1, "seq": 1, "progress": 10}
    url = f"/api/v1/jobs/{job}/heartbeat"
    assert client.post(url, json=body).status_code == 401
    r = client.post(url, json=body, headers=_token(other))
    assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_job"
    forged = encode_token(
        get_settings().model_copy(update={"secret_key": "f" * 40}),
        subject=str(job),
        typ="job",
        ttl=timedelta(minutes=5),
        claims={"kind": "diagnostic", "attempt": 1},
    )
    assert (
        client.post(url, json=body, headers={"Authorization": f"Bearer {forged}"}).status_code
        == 401
    )
    expired = encode_token(
        get_settings(),
        subject=str(job),
        typ="job",
        ttl=timedelta(seconds=-1),
        claims={"kind": "diagnostic", "attempt": 1},
    )
    r = client.post(url, json=body, headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
    # A user's login token is not a job token.
    assert client.post(url, json=body, headers=owner.headers).status_code == 401
    assert client.post(url, json=body, headers=_token(job)).json() == {
        "applied": True,
        "cancel": False,
    }


def test_each_seq_is_applied_once_and_late_ones_never_move_the_job_back(client, owner):
    job = _job(owner.id)
    url, auth = f"/api/v1/jobs/{job}/heartbeat", _token(job)
    assert client.post(url, json={"attempt": 1, "seq": 1, "progress": 10}, headers=auth).json()[
        "applied"
    ]
    assert client.post(url, json={"attempt": 1, "seq": 3, "progress": 30}, headers=auth).json()[
        "applied"
    ]
    # seq 2 arrives late, seq 3 again (a retry): neither is applied.
    assert not client.post(url, json={"attempt": 1, "seq": 2, "progress": 20}, headers=auth).json()[
        "applied"
    ]
    assert not client.post(url, json={"attempt": 1, "seq": 3, "progress": 30}, headers=auth).json()[
        "applied"
    ]
    with new_session() as db:
        assert db.get(DiagnosticJob, job).progress_percent == 30
    beats = [e["data"]["progress"] for e in _events(client, owner, job) if e["type"] == "heartbeat"]
    assert beats == [10, 30]


def test_a_superseded_attempt_is_refused(client, owner):
    job = _job(owner.id, status=JobStatus.RUNNING, attempt=2)
    r = client.post(
        f"/api/v1/jobs/{job}/heartbeat",
        json={"attempt": 1, "seq": 9},
        headers=_token(job, attempt=1),
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "attempt_superseded"
    # The body cannot claim another attempt than its token.
    r = client.post(
        f"/api/v1/jobs/{job}/heartbeat",
        json={"attempt": 2, "seq": 1},
        headers=_token(job, attempt=1),
    )
    assert r.status_code == 403


def test_done_is_final_and_later_callbacks_are_recorded_and_ignored(client, owner):
    job = _job(owner.id)
    auth = _token(job)
    r = client.post(
        f"/api/v1/jobs/{job}/done",
        json={"attempt": 1, "seq": 1, "status": "completed"},
        headers=auth,
    )
    assert r.json()["applied"]
    r = client.post(
        f"/api/v1/jobs/{job}/done",
        json={"attempt": 1, "seq": 2, "status": "failed", "error": "late"},
        headers=auth,
    )
    assert r.json() == {"applied": False, "cancel": False}
    r = client.post(
        f"/api/v1/jobs/{job}/heartbeat", json={"attempt": 1, "seq": 3, "progress": 5}, headers=auth
    )
    assert not r.json()["applied"]
    with new_session() as db:
        row = db.get(DiagnosticJob, job)
        assert row.status == JobStatus.COMPLETED and row.error_message is None
    types = [e["type"] for e in _events(client, owner, job)]
    assert types == ["status", "status", "callback_ignored", "callback_ignored"]


def test_after_cancel_a_callback_is_told_to_stop(client, owner):
    job = _job(owner.id, status=JobStatus.RUNNING)
    r = client.post(f"/api/v1/diagnostics/jobs/{job}/cancel", headers=owner.headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = client.post(
        f"/api/v1/jobs/{job}/heartbeat", json={"attempt": 1, "seq": 1}, headers=_token(job)
    )
    assert r.json() == {"applied": False, "cancel": True}


def test_bad_callback_bodies_are_422_and_change_nothing(client, owner):
    job = _job(owner.id)
    auth = _token(job)
    for body in (
        {"attempt": 1},
        {"attempt": 1, "seq": 0},
        {"attempt": 1, "seq": 1, "progress": 101},
    ):
        r = client.post(f"/api/v1/jobs/{job}/heartbeat", json=body, headers=auth)
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = client.post(
        f"/api/v1/jobs/{job}/event",
        json={"attempt": 1, "seq": 1, "type": "Bad Type!"},
        headers=auth,
    )
    assert r.status_code == 422
    assert len(_events(client, owner, job)) == 1
