"""The callback rules: job-scoped tokens, each (attempt, seq) applied once and never
backwards, superseded attempts refused, nothing applied after the job ended."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import jwt
import pytest

from api.auth.tokens import encode_token
from api.db.models import DiagnosticJob, JobKind, JobStatus
from api.db.session import new_session
from api.services.jobs import events, tokens
from api.settings import get_settings
from tests.jobs import diagnostic_job


def _job(user_id: str, status: JobStatus = JobStatus.QUEUED, attempt: int = 1) -> uuid.UUID:
    """A dispatched diagnostic job with its first status event (no runner needed here)."""
    job_id = diagnostic_job(user_id, status=status, attempt=attempt)
    with new_session() as db:
        events.append(db, db.get(DiagnosticJob, job_id), "status", {"status": status.value})
        db.commit()
    return job_id


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
    # A token that verified once still expires: the verified-token cache rechecks it.
    brief = tokens.create(get_settings(), job, JobKind.DIAGNOSTIC, 1, 2)  # exp: whole seconds
    brief_auth = {"Authorization": f"Bearer {brief}"}
    assert client.post(url, json=body, headers=brief_auth).json()["applied"]
    time.sleep(
        max(0.0, jwt.decode(brief, options={"verify_signature": False})["exp"] - time.time()) + 0.05
    )
    r = client.post(url, json=body, headers=brief_auth)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
    # A user's login token is not a job token.
    assert client.post(url, json=body, headers=owner.headers).status_code == 401
    assert client.post(url, json={**body, "seq": 2}, headers=_token(job)).json() == {
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


def test_artifact_urls_are_presigned_under_the_jobs_own_prefix(client, owner):
    job = _job(owner.id)
    auth = _token(job)
    r = client.post(
        f"/api/v1/jobs/{job}/artifacts",
        json={"attempt": 1, "seq": 1, "names": ["report.json"]},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["keys"] == {"report.json": f"results/{job}/report.json"}
    # The worker uploads with the URL alone, no credentials.
    assert client.put(body["urls"]["report.json"], content=b'{"ok": true}').status_code == 200
    from api.services.storage import get_storage

    assert get_storage(get_settings()).get_bytes(f"results/{job}/report.json") == b'{"ok": true}'
    for bad in ("../escape", "/abs", "a//b"):
        r = client.post(
            f"/api/v1/jobs/{job}/artifacts",
            json={"attempt": 1, "seq": 2, "names": [bad]},
            headers=auth,
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_artifact_name"


def test_validation_results_belong_to_training_jobs(client, owner):
    job = _job(owner.id)
    body = {
        "attempt": 1,
        "seq": 1,
        "epoch": 1,
        "primary_metric_name": "accuracy",
        "primary_metric_value": 0.5,
        "metrics": {"accuracy": 0.5},
    }
    r = client.post(f"/api/v1/jobs/{job}/validation", json=body, headers=_token(job))
    assert r.status_code == 400 and r.json()["error"]["code"] == "not_training"


def _queued_training_job(client, owner) -> uuid.UUID:  # type: ignore[no-untyped-def]
    """A training job as the dispatcher leaves it (queued, attempt 1), on a real dataset."""
    from api.db.models import TrainingJob
    from tests import dataset_builders as build
    from tests.conftest import upload_dataset

    dataset = upload_dataset(client, owner, files=build.imagefolder_files(train=2, val=1)).json()
    with new_session() as db:
        job = TrainingJob(
            user_id=uuid.UUID(owner.id), dataset_id=uuid.UUID(dataset["id"]), model_name="resnet18",
            task_type="image_classification", framework="timm", status=JobStatus.QUEUED, attempt=1,
        )  # fmt: skip
        db.add(job)
        db.commit()
        return job.id


def test_validation_per_epoch_keeps_the_best_by_the_primary_metric(client, owner):
    from api.db.models import TrainingJob, TrainingValidationResult

    job_id = _queued_training_job(client, owner)
    auth = {
        "Authorization": f"Bearer {tokens.create(get_settings(), job_id, JobKind.TRAINING, 1, 600)}"
    }
    for seq, (epoch, acc) in enumerate([(1, 0.5), (2, 0.7), (3, 0.6)], start=1):
        body = {
            "attempt": 1,
            "seq": seq,
            "epoch": epoch,
            "primary_metric_name": "accuracy",
            "primary_metric_value": acc,
            "metrics": {"accuracy": acc, "loss": 1 - acc},
        }
        r = client.post(f"/api/v1/jobs/{job_id}/validation", json=body, headers=auth)
        assert r.json()["applied"]
    with new_session() as db:
        rows = (
            db.query(TrainingValidationResult)
            .filter_by(training_job_id=job_id)
            .order_by(TrainingValidationResult.epoch)
            .all()
        )
        assert [(r.epoch, r.is_best) for r in rows] == [(1, False), (2, True), (3, False)]
        row = db.get(TrainingJob, job_id)
        assert row.best_epoch == 2 and row.best_metrics["accuracy"] == 0.7
        assert row.status == JobStatus.RUNNING


def test_a_validation_that_says_whether_it_is_best_is_recorded_as_the_worker_decided(client, owner):  # type: ignore[no-untyped-def]
    from api.db.models import TrainingJob, TrainingValidationResult

    job_id = _queued_training_job(client, owner)
    token = tokens.create(get_settings(), job_id, JobKind.TRAINING, 1, 600)
    acks = []
    # The worker's loop counts epochs of earlier attempts the API saw differently: its
    # word stands, so best.ckpt and the records agree.
    for seq, (epoch, acc, best) in enumerate([(1, 0.5, True), (2, 0.7, False)], start=1):
        body = {"attempt": 1, "seq": seq, "epoch": epoch, "primary_metric_name": "accuracy",
                "primary_metric_value": acc, "metrics": {"accuracy": acc},
                "is_best": best}  # fmt: skip
        r = client.post(f"/api/v1/jobs/{job_id}/validation", json=body,
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        acks.append(r.json()["is_best"])
    assert acks == [True, False]
    with new_session() as db:
        rows = db.query(TrainingValidationResult).filter_by(training_job_id=job_id).all()
        assert sorted((r.epoch, r.is_best) for r in rows) == [(1, True), (2, False)]
        assert db.get(TrainingJob, job_id).best_epoch == 1


def test_a_metric_to_minimize_keeps_the_lowest_and_the_ack_says_which_epoch_is_best(client, owner):  # type: ignore[no-untyped-def]
    from api.db.models import TrainingJob

    job_id = _queued_training_job(client, owner)
    token = tokens.create(get_settings(), job_id, JobKind.TRAINING, 1, 600)
    acks = []
    for seq, (epoch, loss) in enumerate([(1, 0.9), (2, 0.4), (3, 0.6)], start=1):
        body = {"attempt": 1, "seq": seq, "epoch": epoch, "primary_metric_name": "loss",
                "primary_metric_value": loss, "primary_metric_direction": "minimize",
                "metrics": {"loss": loss}}  # fmt: skip
        r = client.post(f"/api/v1/jobs/{job_id}/validation", json=body,
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        acks.append(r.json()["is_best"])
    assert acks == [True, True, False]
    with new_session() as db:
        row = db.get(TrainingJob, job_id)
        assert row.best_epoch == 2 and row.primary_metric_direction == "minimize"


def test_a_running_training_jobs_heartbeats_set_what_they_report_and_keep_the_rest(client, owner):  # type: ignore[no-untyped-def]
    from api.db.models import TrainingJob

    job_id = _queued_training_job(client, owner)
    t = tokens.create(get_settings(), job_id, JobKind.TRAINING, 1, 600)
    url, auth = f"/api/v1/jobs/{job_id}/heartbeat", {"Authorization": f"Bearer {t}"}
    first = {"attempt": 1, "seq": 1, "progress": 10, "epoch": 1, "total_epochs": 5,
             "metrics": {"loss": 0.9}}  # fmt: skip
    assert client.post(url, json=first, headers=auth).json()["applied"]  # queued -> running
    # Running now: progress and epoch move; total_epochs and metrics, not reported, stay.
    later = {"attempt": 1, "seq": 2, "progress": 40, "epoch": 2, "message": "epoch 2"}
    assert client.post(url, json=later, headers=auth).json()["applied"]
    log = {"attempt": 1, "seq": 3, "type": "log", "data": {"line": "saved"}}
    assert client.post(f"/api/v1/jobs/{job_id}/event", json=log, headers=auth).json()["applied"]
    with new_session() as db:
        row = db.get(TrainingJob, job_id)
        assert (row.status, row.progress_percent, row.current_epoch, row.total_epochs) == (
            JobStatus.RUNNING, 40, 2, 5,
        )  # fmt: skip
        assert row.current_metrics == {"loss": 0.9} and row.last_callback_seq == 3
        assert row.last_heartbeat_at is not None
    got = [(e["seq"], e["type"], e["data"]) for e in _events(client, owner, job_id)]
    assert got[-3:] == [
        (got[-3][0], "heartbeat", {"progress": 10, "epoch": 1, "total_epochs": 5,
                                   "metrics": {"loss": 0.9}}),
        (got[-3][0] + 1, "heartbeat", {"progress": 40, "epoch": 2, "metrics": {},
                                       "message": "epoch 2"}),
        (got[-3][0] + 2, "log", {"line": "saved"}),
    ]  # fmt: skip
    assert [s for s, _, _ in got] == list(range(1, len(got) + 1))


def test_concurrent_callbacks_number_events_without_gaps_and_never_move_a_job_back(client, owner):  # type: ignore[no-untyped-def]
    """Callbacks racing on one running job: each event gets the next seq, and the
    heartbeats applied are exactly an increasing run of their seqs (a late one is
    refused, never applied over a newer one)."""
    from concurrent.futures import ThreadPoolExecutor

    job = _job(owner.id, status=JobStatus.RUNNING)
    url, auth = f"/api/v1/jobs/{job}/heartbeat", _token(job)

    def beat(seq: int) -> bool:
        body = {"attempt": 1, "seq": seq, "progress": seq / 2}
        return bool(client.post(url, json=body, headers=auth).json()["applied"])

    with ThreadPoolExecutor(8) as pool:
        seqs = range(1, 201)
        applied = [s for s, ok in zip(seqs, pool.map(beat, seqs), strict=True) if ok]
    got = _events(client, owner, job)
    assert [e["seq"] for e in got] == list(range(1, len(got) + 1))
    beats = [e["data"]["progress"] * 2 for e in got if e["type"] == "heartbeat"]
    assert beats == sorted(set(beats)) == applied and applied[-1] == 200
    with new_session() as db:
        row = db.get(DiagnosticJob, job)
        assert (row.last_callback_seq, row.progress_percent) == (200, 100)
