"""The training function: fetch the pinned snapshot, train with the framework's adapter,
report every epoch, keep the best and last checkpoints, resume where an earlier attempt
stopped.

Per epoch, in this order (DESIGN.md, "Work that survives losing its worker"): upload the
checkpoint, record it as the resume point, send the validation (the API answers whether
the epoch is the best), upload it as `best.ckpt` when it is, then the heartbeat. A lost
worker therefore costs at most the epoch in progress.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from functions.client import JobClient, load_spec
from functions.runtime import run_spec
from trainers import offline

HEARTBEAT_SECONDS = float(os.environ.get("VAP_HEARTBEAT_SECONDS", "2"))


class Reporter:
    """The TrainHooks a trainer calls: turns its progress into callbacks."""

    def __init__(self, client: JobClient, total_epochs: int, start_epoch: int) -> None:
        self.client = client
        self.total_epochs = total_epochs
        self.start_epoch = start_epoch  # epochs done by earlier attempts
        self.last_beat = 0.0
        self.best_epoch: int | None = None
        self.primary: dict[str, float] = {}
        self.callback_seconds = 0.0  # time spent reporting, for the benchmark

    def should_stop(self) -> bool:
        return self.client.cancelled

    def progress(self, epoch: int, batch: int, batches: int, metrics: dict[str, float]) -> None:
        now = time.monotonic()
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

    def epoch_end(self, result: Any) -> None:
        started = time.monotonic()
        client, v = self.client, result.validation
        key = client.upload("last.ckpt", result.checkpoint)
        client.event("checkpoint", key=key, epoch=result.epoch)
        metrics = {k: float(x) for k, x in v.metrics.items()}
        metrics |= {f"train/{k}": float(x) for k, x in result.train_metrics.items()}
        metrics["epoch_seconds"] = float(result.seconds)
        if result.seconds > 0:
            metrics["images_per_second"] = result.images_seen / result.seconds
        ack = client.validation(
            epoch=result.epoch,
            primary_metric_name=v.primary_metric,
            primary_metric_value=float(v.primary_value),
            metrics=metrics,
            per_class_metrics=v.per_class or None,
            confusion_matrix=v.confusion_matrix,
            pr_curves=v.pr_curves,
        )
        if ack.is_best:
            best = client.upload("best.ckpt", result.checkpoint)
            client.event("checkpoint", key=best, epoch=result.epoch, best=True)
            self.best_epoch = result.epoch
            self.primary = {v.primary_metric: float(v.primary_value)}
        # Uploaded: a file per epoch would fill the worker's disk (an AdamW resnet18 is
        # ~135 MB); resuming reads the uploaded copy.
        result.checkpoint.unlink(missing_ok=True)
        client.heartbeat(
            progress=100 * result.epoch / max(result.total_epochs, 1),
            epoch=result.epoch,
            total_epochs=result.total_epochs,
            metrics={v.primary_metric: float(v.primary_value), **result.train_metrics},
            message=f"epoch {result.epoch}/{result.total_epochs} done",
        )
        self.last_beat = time.monotonic()
        self.callback_seconds += self.last_beat - started


def run(client: JobClient) -> int:
    offline.apply()  # before any framework is imported
    from functions import inputs
    from trainers.base import TrainRequest, get_trainer

    spec = client.spec
    client.listen_for_termination()
    config = dict(spec.config)
    with tempfile.TemporaryDirectory(prefix=f"vap-train-{spec.job_id[:8]}-") as tmp:
        work = Path(tmp)
        try:
            client.event("log", message=f"attempt {spec.attempt}: fetching the dataset snapshot")
            snapshot = inputs.fetch_snapshot(client, work / "data")
            weights = inputs.fetch(client, "weights", work / "weights" / "pretrained.bin")
            resume = None
            if spec.resume is not None:
                resume = inputs.download(spec.resume.checkpoint_url, work / "resume.ckpt")
                client.event("log", message=f"resuming after epoch {spec.resume.epoch}")
            device = _device()
            reporter = Reporter(
                client, int(config["epochs"]), spec.resume.epoch if spec.resume else 0
            )
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
            outcome = get_trainer(spec.framework or "").train(request, reporter)
        except Exception as exc:  # the job fails saying why; the traceback goes to the log
            if client.cancelled:
                return 0
            tail = traceback.format_exc()[-4000:]
            client.event("log", level="error", message=tail)
            client.done("failed", error=f"{type(exc).__name__}: {exc}"[:2000])
            return 1
    if outcome.cancelled or client.cancelled:
        return 0  # the API knows: it cancelled us (or the machine is going away)
    client.done(
        "completed",
        metrics={
            **reporter.primary,
            "best_epoch": reporter.best_epoch,
            "epochs_run": outcome.epochs_run,
            "stopped_early": outcome.stopped_early,
            "callback_seconds": round(reporter.callback_seconds, 3),
        },
    )
    return 0


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


if __name__ == "__main__":
    raise SystemExit(run_spec(load_spec(sys.argv)))
