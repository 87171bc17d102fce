"""The training function: fetch the pinned snapshot, train with the framework's adapter,
report every epoch, keep the best and last checkpoints, resume where an earlier attempt
stopped.

Per epoch (DESIGN.md, "Work that survives losing its worker"): send the validation (with
the trainer's word on whether the epoch is the run's best) and the heartbeat, and upload
the checkpoint while the next epoch trains; once stored it is recorded as the resume
point (and copied to `best.ckpt` by the API when the epoch was best). A lost worker
costs at most the epoch in progress and, rarely, the one whose checkpoint was still on
its way; a stopped one (a preemption's SIGTERM) records that one before it exits.
"""

from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from contract.training_config import TrainingConfig
from functions import inputs
from functions.client import JobClient, put_file
from functions.harness import Finished

if TYPE_CHECKING:
    from trainers.base import EpochResult

HEARTBEAT_SECONDS = float(os.environ.get("VAP_HEARTBEAT_SECONDS", "2"))
# Where an epoch's checkpoint upload runs: "background" (beside the next epoch, on every
# device: see Reporter) or "inline" (benchmarks/training_throughput.py measures both).
CHECKPOINT_UPLOAD = os.environ.get("VAP_CHECKPOINT_UPLOAD", "background")


class Reporter:
    """The TrainHooks a trainer calls: turns its progress into callbacks.

    An epoch's checkpoint is uploaded in the background while the next epoch trains:
    inline, the loop would wait for a ~130 MB upload every epoch, on a GPU and on the CPU
    alike. On a 2-core machine whose API is also the storage server, the loop waited ~570
    ms per ~5 s epoch inline against ~40 ms in the background, with the same API CPU per
    epoch, and the epochs' pace moved within the machine's noise (all-in 0.81 and 0.98
    of the plain loop inline, 0.93 and 0.95 in the background, in two runs of
    benchmarks/training_throughput.py --uploads inline,background); with remote storage
    the wait inline is the network's. It becomes the resume point, with a `checkpoint`
    event, only once it is wholly stored; only the upload runs beside the loop, callbacks
    are sent from the training thread alone, in sequence.
    """

    def __init__(self, client: JobClient, total_epochs: int, background: bool) -> None:
        self.client = client
        self.background = background
        self.total_epochs = total_epochs
        self.last_beat = 0.0
        self.best_epoch: int | None = None
        self.primary: dict[str, float] = {}
        self.callback_seconds = 0.0  # time the training loop waited on reporting
        self._uploads = ThreadPoolExecutor(1, thread_name_prefix="checkpoint-upload")
        self._pending: tuple[Future[None], str, int, bool] | None = None

    def should_stop(self) -> bool:
        return self.client.cancelled

    def progress(self, epoch: int, batch: int, batches: int, metrics: dict[str, float]) -> None:
        now = time.monotonic()
        if self._pending is not None and self._pending[0].done():
            self._record_upload()
        if now - self.last_beat < HEARTBEAT_SECONDS:
            return
        self.last_beat = now
        done = (epoch - 1 + batch / max(batches, 1)) / max(self.total_epochs, 1)
        self.client.heartbeat(
            progress=min(100.0, 100 * done),
            epoch=epoch,
            total_epochs=self.total_epochs,
            metrics={k: float(v) for k, v in metrics.items()},
            message=f"epoch {epoch}/{self.total_epochs}, batch {batch}/{batches}",
        )
        self.callback_seconds += time.monotonic() - now

    def epoch_end(self, result: EpochResult) -> None:
        started = time.monotonic()
        client, v = self.client, result.validation
        self.finish_uploads()  # the previous epoch's checkpoint first: resume points in order
        metrics = {k: float(x) for k, x in v.metrics.items()}
        metrics |= {f"train/{k}": float(x) for k, x in result.train_metrics.items()}
        metrics["epoch_seconds"] = float(result.seconds)
        if result.seconds > 0:
            metrics["images_per_second"] = result.images_seen / result.seconds
        client.validation(
            epoch=result.epoch,
            primary_metric_name=v.primary_metric,
            primary_metric_value=float(v.primary_value),
            primary_metric_direction=v.direction,
            metrics=metrics,
            per_class_metrics=v.per_class or None,
            confusion_matrix=v.confusion_matrix,
            pr_curves=v.pr_curves,
            is_best=result.is_best,
        )
        if result.is_best:
            self.best_epoch = result.epoch
            self.primary = {v.primary_metric: float(v.primary_value)}
        name = checkpoint_name(result.epoch)
        answer = client.artifact_urls([name])
        upload = self._uploads.submit(_upload_and_remove, answer.urls[name], result.checkpoint)
        self._pending = (upload, answer.keys[name], result.epoch, result.is_best)
        if not self.background:
            self.finish_uploads()
        client.heartbeat(
            progress=100 * result.epoch / max(result.total_epochs, 1),
            epoch=result.epoch,
            total_epochs=result.total_epochs,
            metrics={v.primary_metric: float(v.primary_value), **result.train_metrics},
            message=f"epoch {result.epoch}/{result.total_epochs} done",
        )
        self.last_beat = time.monotonic()
        self.callback_seconds += self.last_beat - started

    def finish_uploads(self) -> None:
        """Wait for the checkpoint being uploaded and record it (raises what the upload
        raised). Called before the next one starts and before the job reports its end."""
        if self._pending is not None:
            self._pending[0].result()
            self._record_upload()

    def settle(self) -> None:
        """On a stop (a cancel, or a preemption's SIGTERM, which leaves the job running
        for its next attempt): wait for the checkpoint being uploaded and record it, so
        the next attempt resumes after that epoch and not the one before. A user's cancel
        ignores the record. Raises nothing: the worker is stopping either way, and a
        failure here leaves the resume point recorded before."""
        with contextlib.suppress(Exception):
            self.finish_uploads()

    def _record_upload(self) -> None:
        assert self._pending is not None
        upload, key, epoch, best = self._pending
        self._pending = None
        upload.result()
        self.client.event("checkpoint", key=key, epoch=epoch, best=best)

    def close(self) -> None:
        self._uploads.shutdown(wait=False, cancel_futures=True)


def checkpoint_name(epoch: int) -> str:
    """The stored name of an epoch's checkpoint: two names, taken in turn. An upload the
    API has not recorded (one still running when the job is cancelled or the worker is
    lost, its `checkpoint` event never sent or ignored) must not replace the recorded
    resume point, as it would under one name: the next attempt would read epoch N's
    state where the API says N-1. The other name's upload starts only once this one is
    recorded (finish_uploads), so the recorded one is never the one being written."""
    return f"last-{epoch % 2}.ckpt"


def _upload_and_remove(url: str, path: Path) -> None:
    # Uploaded: a file per epoch would fill the worker's disk (an AdamW resnet18 is
    # ~135 MB); resuming reads the uploaded copy.
    put_file(url, path)
    path.unlink(missing_ok=True)


def run(client: JobClient, work: Path) -> Finished | None:
    from trainers.base import TrainRequest, get_trainer

    spec = client.spec
    config = TrainingConfig.model_validate(spec.config)  # the job fails if it does not fit
    client.event("log", message=f"attempt {spec.attempt}: fetching the dataset snapshot")
    snapshot = inputs.fetch_snapshot(client, work / "data")
    weights = inputs.fetch(client, "weights", work / "weights" / "pretrained.bin")
    resume = None
    if spec.resume is not None:
        resume = inputs.download(spec.resume.checkpoint_url, work / "resume.ckpt")
        client.event("log", message=f"resuming after epoch {spec.resume.epoch}")
    device = inputs.device(client.spec)
    reporter = Reporter(client, config.epochs, background=CHECKPOINT_UPLOAD != "inline")
    request = TrainRequest(
        model_name=spec.model or "",
        task_type=spec.task_type or snapshot.manifest.task_type,
        manifest=snapshot.manifest,
        data_dir=work / "data" / "files",
        config=config,
        workdir=work / "run",
        device=device,
        pretrained_weights=weights,
        resume_from=resume,
    )
    request.workdir.mkdir(parents=True, exist_ok=True)
    client.event("log", message=f"training {spec.model} on {device}, "
                 f"{len(snapshot.manifest.images)} images")  # fmt: skip
    try:
        outcome = get_trainer(spec.framework or "").train(request, reporter)
        if outcome.cancelled or client.cancelled:
            return None  # the API knows: it cancelled us (or the machine is going away)
        reporter.finish_uploads()  # the last epoch's checkpoint, before `done`
    finally:
        if client.cancelled:
            reporter.settle()
        reporter.close()
    return Finished(
        metrics={
            **reporter.primary,
            "best_epoch": reporter.best_epoch,
            "epochs_run": outcome.epochs_run,
            "stopped_early": outcome.stopped_early,
            "callback_seconds": round(reporter.callback_seconds, 3),
        }
    )
