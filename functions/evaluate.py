"""The test-run function: a trained checkpoint measured on a labelled dataset snapshot.

Sends the overall metrics (per class, confusion matrix, PR curves) as one validation
callback, and uploads per-image results and visualizations (Grad-CAM for
classification when asked).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from functions import inputs, results
from functions.client import JobClient
from functions.harness import Finished


def run(client: JobClient, work: Path) -> Finished | None:
    from trainers.base import get_trainer

    spec, config = client.spec, client.spec.config
    snapshot = inputs.fetch_snapshot(client, work / "data")
    checkpoint = inputs.fetch_checkpoint(client, work / "model.ckpt")
    manifest, split = results.pick_split(snapshot.manifest, config.get("split"))
    files = work / "data" / "files"
    count = sum(1 for i in manifest.images if i.split == split)
    client.heartbeat(progress=5, message=f"evaluating on {count} {split} images")
    trainer = get_trainer(spec.framework or "")
    device = inputs.device(client.spec)
    report = trainer.evaluate(checkpoint, manifest, files, split, device, keep_images=True)
    if client.cancelled:
        return None
    client.heartbeat(progress=80, metrics={report.primary_metric: report.primary_value})
    client.validation(
        epoch=0,
        primary_metric_name=report.primary_metric,
        primary_metric_value=float(report.primary_value),
        primary_metric_direction=report.direction,
        metrics={k: float(v) for k, v in report.metrics.items()},
        per_class_metrics=report.per_class or None,
        confusion_matrix=report.confusion_matrix,
        pr_curves=report.pr_curves,
    )
    xai = bool(config.get("enable_xai")) and spec.task_type == "image_classification"

    def picture(item: dict[str, Any], out: Path) -> Path:
        return results.picture(
            trainer, checkpoint, device, xai, files / item["image_id"], out,
            item["predictions"], item["ground_truth"],
        )  # fmt: skip

    results.publish(
        client, work, spec.task_type or "", report.images or [], picture,
        int(config.get("max_visualizations", 20)),
    )  # fmt: skip
    return Finished(metrics={report.primary_metric: report.primary_value})
