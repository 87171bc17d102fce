"""Jobs as the dispatcher leaves them, written straight to the database: for tests of
callbacks, streams and the reconciler that need no worker to start."""

from __future__ import annotations

import uuid
from typing import Any

from api.db.models import DiagnosticJob, JobStatus, TrainingJob
from api.db.session import new_session
from api.services.jobs import events


def diagnostic_job(user_id: str, heartbeats: int = 0, **fields: Any) -> uuid.UUID:
    """A diagnostic job (default: queued, attempt 1) with `heartbeats` heartbeat events."""
    values: dict[str, Any] = {"status": JobStatus.QUEUED, "attempt": 1} | fields
    with new_session() as db:
        job = DiagnosticJob(
            user_id=uuid.UUID(user_id), task_type="diagnostic", framework="none", **values
        )
        db.add(job)
        db.flush()
        for i in range(heartbeats):
            events.append(db, job, "heartbeat", {"progress": i})
        db.commit()
        return job.id


def training_job(api: Any, **fields: Any) -> uuid.UUID:
    """A resnet18 training job (default: queued, attempt 1, 2 epochs) on a small real
    dataset uploaded through `api`, a live server's logged-in client: its worker is the
    test."""
    from tests import dataset_builders as build

    files = build.imagefolder_files(train=2, val=1)
    parts = [("files", (name, data, "application/octet-stream")) for name, data in files.items()]
    dataset = api.post("/api/v1/datasets", data={"name": "digits"}, files=parts).json()
    me = api.get("/api/v1/auth/me").json()
    values: dict[str, Any] = {"status": JobStatus.QUEUED, "attempt": 1, "total_epochs": 2}
    with new_session() as db:
        job = TrainingJob(
            user_id=uuid.UUID(me["id"]), dataset_id=uuid.UUID(dataset["id"]),
            model_name="resnet18", task_type="image_classification", framework="timm",
            **(values | fields),
        )  # fmt: skip
        db.add(job)
        db.commit()
        return job.id


def job_to_dispatch(user_id: str, runner: str, **config: Any) -> uuid.UUID:
    """A new diagnostic job for `runner`, not yet dispatched (config: the function's)."""
    extra = {k: config.pop(k) for k in ("resources", "max_attempts") if k in config}
    return diagnostic_job(
        user_id, status=JobStatus.PENDING, attempt=0, runner=runner,
        config={"heartbeats": 3, "interval": 0.05, **config}, **extra,
    )  # fmt: skip


def submit(job_id: uuid.UUID, settings: Any) -> DiagnosticJob:
    """Dispatch the job as the API does, with `settings` (its runner, its callback URL)."""
    from api.services.jobs import dispatch

    with new_session() as db:
        return dispatch.submit(db, settings, db.get(DiagnosticJob, job_id))  # type: ignore[no-any-return]


def row(job_id: uuid.UUID) -> DiagnosticJob:
    with new_session() as db:
        return db.get(DiagnosticJob, job_id)  # type: ignore[return-value]


def wait_for_status(job_id: uuid.UUID, status: JobStatus, timeout: float = 60) -> None:
    import time

    deadline = time.monotonic() + timeout
    while row(job_id).status != status and time.monotonic() < deadline:
        time.sleep(0.05)
    assert row(job_id).status == status, row(job_id).error_message
