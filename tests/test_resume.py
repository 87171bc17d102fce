# ruff: noqa: E501  (callback bodies read better on one line)
"""A lost attempt's successor starts from the job's last checkpoint: the function
records it (artifacts, then a `checkpoint` event), and the next JobSpec carries it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from api.db.models import JobAttempt, JobKind, JobStatus, TrainingJob
from api.db.session import new_session
from api.services.jobs import tokens
from api.services.jobs.reconciler import reconcile
from api.services.jobs.runners import modal as modal_runner
from api.settings import get_settings
from tests import dataset_builders as build
from tests.conftest import upload_dataset


class RecordingModal:
    """Modal as the runner sees it: spawn records the spec (no function runs here)."""

    def __init__(self) -> None:
        self.specs: list[dict[str, Any]] = []

    def function(self, app_name: str, name: str, environment: str | None) -> Any:
        specs = self.specs

        class Function:
            def spawn(self, spec: dict[str, Any]) -> Any:
                specs.append(spec)
                return type("Call", (), {"object_id": f"fc-{len(specs)}"})()

        return Function()

    def call(self, call_id: str) -> Any:
        raise AssertionError("not used here")


def test_the_next_attempt_resumes_from_the_last_checkpoint(client, make_user, monkeypatch):
    owner = make_user("engineer_i")
    dataset = upload_dataset(client, owner, files=build.imagefolder_files(train=2, val=1)).json()
    with new_session() as db:
        job = TrainingJob(
            user_id=uuid.UUID(owner.id), dataset_id=uuid.UUID(dataset["id"]), model_name="resnet18",
            task_type="image_classification", framework="timm", status=JobStatus.RUNNING,
            attempt=1, max_attempts=2, runner="modal", runner_ref="fc-0",
        )  # fmt: skip
        db.add(job)
        db.commit()
        job_id = job.id
    auth = {
        "Authorization": f"Bearer {tokens.create(get_settings(), job_id, JobKind.TRAINING, 1, 600)}"
    }
    urls = client.post(
        f"/api/v1/jobs/{job_id}/artifacts",
        json={"attempt": 1, "seq": 1, "names": ["last.pt"]},
        headers=auth,
    ).json()
    assert client.put(urls["urls"]["last.pt"], content=b"weights at epoch 7").status_code == 200
    key = urls["keys"]["last.pt"]
    bad = {
        "attempt": 1,
        "seq": 2,
        "type": "checkpoint",
        "data": {"key": "datasets/elsewhere.pt", "epoch": 7},
    }
    assert client.post(f"/api/v1/jobs/{job_id}/event", json=bad, headers=auth).status_code == 400
    good = {"attempt": 1, "seq": 3, "type": "checkpoint", "data": {"key": key, "epoch": 7}}
    assert client.post(f"/api/v1/jobs/{job_id}/event", json=good, headers=auth).json()["applied"]

    # The worker goes silent; the reconciler starts attempt 2 on Modal.
    modal = RecordingModal()
    monkeypatch.setattr(modal_runner, "client_factory", lambda: modal)
    with new_session() as db:
        db.get(TrainingJob, job_id).last_heartbeat_at = datetime.now(UTC) - timedelta(hours=1)
        db.commit()
        assert str(job_id) in reconcile(db, get_settings()).retried
    (spec,) = [s for s in modal.specs if s["job_id"] == str(job_id)]  # the pass sees all jobs
    assert spec["attempt"] == 2 and spec["resume"]["epoch"] == 7
    # The URL alone fetches the checkpoint (the local backend's URLs are the API's own).
    assert client.get(spec["resume"]["checkpoint_url"]).content == b"weights at epoch 7"
    with new_session() as db:
        attempt = db.query(JobAttempt).filter_by(job_id=job_id, attempt=2).one()
        assert attempt.resumed_from_epoch == 7
    events = client.get(f"/api/v1/jobs/{job_id}/events?after=0", headers=owner.headers).json()[
        "events"
    ]
    assert events[-1]["data"] == {
        "status": "queued",
        "runner": "modal",
        "attempt": 2,
        "resumed_from_epoch": 7,
    }
