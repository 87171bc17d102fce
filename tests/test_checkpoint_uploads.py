"""A worker's checkpoint uploads, as its Reporter sends them to a real API over HTTP: each
becomes the resume point only once stored and recorded, and an upload that is never
recorded (still running when the job is cancelled or the worker lost) leaves the
recorded resume point as it was."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from api.db.models import JobKind, JobStatus
from api.services.jobs import tokens
from api.settings import get_settings
from contract.jobs import JobSpec
from functions.client import JobClient
from functions.train import Reporter
from tests.jobs import training_job
from trainers.base import EpochResult, EvalReport


def _running_job(api: httpx.Client, base: str) -> tuple[uuid.UUID, JobClient]:
    """A running training job (attempt 1, 3 epochs) and its worker's client: this test
    is the worker."""
    job_id = training_job(api, status=JobStatus.RUNNING, total_epochs=3)
    token = tokens.create(get_settings(), job_id, JobKind.TRAINING, 1, 600)
    spec = JobSpec(job_id=str(job_id), kind="training", attempt=1, callback_token=token,
                   callback_url=f"{base}/api/v1/jobs/{job_id}")  # fmt: skip
    return job_id, JobClient(spec)


def _epoch(epoch: int, folder: Path) -> EpochResult:
    """Epoch `epoch` done, its checkpoint a file holding its own name."""
    checkpoint = folder / f"epoch-{epoch:04d}.pt"
    checkpoint.write_bytes(f"the state after epoch {epoch}".encode())
    report = EvalReport(
        primary_metric="accuracy", primary_value=0.1 * epoch, direction="maximize",
        metrics={"accuracy": 0.1 * epoch},
    )  # fmt: skip
    return EpochResult(
        epoch=epoch, total_epochs=3, train_metrics={"loss": 1.0 / epoch}, validation=report,
        checkpoint=checkpoint, seconds=1.0, images_seen=2,
    )  # fmt: skip


def test_an_upload_unrecorded_at_a_cancel_leaves_the_recorded_resume_point_whole(
    api, live_server, tmp_path
):
    job_id, worker = _running_job(api, live_server)
    reporter = Reporter(worker, total_epochs=3, background=True)
    try:
        reporter.epoch_end(_epoch(1, tmp_path))
        reporter.finish_uploads()  # stored, then recorded: the resume point
        reporter.epoch_end(_epoch(2, tmp_path))  # its upload runs beside the next epoch
        # The job is cancelled while that upload runs; it lands, and its record (the
        # `checkpoint` event, sent once it is whole) comes too late to count.
        assert api.post(f"/api/v1/training/jobs/{job_id}/cancel").status_code == 200
        reporter.finish_uploads()
    finally:
        reporter.close()
    assert worker.cancelled  # the ack of that late record said so
    links = api.get(f"/api/v1/training/jobs/{job_id}/checkpoints").json()
    assert links["last_epoch"] == 1
    assert httpx.get(links["last"]).content == b"the state after epoch 1"


def test_each_recorded_checkpoint_is_the_newest_and_the_best_is_copied_whole(
    api, live_server, tmp_path
):
    job_id, worker = _running_job(api, live_server)
    reporter = Reporter(worker, total_epochs=3, background=True)
    try:
        for epoch in (1, 2, 3):
            result = _epoch(epoch, tmp_path)
            result.is_best = epoch == 2
            reporter.epoch_end(result)
            # Until the next epoch records it, the previous one is the resume point.
            links = api.get(f"/api/v1/training/jobs/{job_id}/checkpoints").json()
            assert links["last_epoch"] == (epoch - 1 if epoch > 1 else None)
        reporter.finish_uploads()
    finally:
        reporter.close()
    links = api.get(f"/api/v1/training/jobs/{job_id}/checkpoints").json()
    assert links["last_epoch"] == 3 and links["best_epoch"] == 2
    assert httpx.get(links["last"]).content == b"the state after epoch 3"
    assert httpx.get(links["best"]).content == b"the state after epoch 2"
    assert not list(tmp_path.glob("*.pt"))  # each uploaded file is removed from the worker
