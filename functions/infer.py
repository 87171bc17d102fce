"""The inference function: a trained checkpoint's predictions on uploaded images or a
dataset snapshot's images (no ground truth). Uploads `images.json` (one
contract.predictions.ImagePrediction per image) and drawn visualizations (Grad-CAM
overlays for classification when asked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from functions import inputs, results
from functions.client import JobClient
from functions.harness import Finished

_BATCH = 32  # images per predict call: progress and cancel between batches


def _images(client: JobClient, work: Path) -> list[tuple[str, Path]]:
    """(image id, local file) of every image the job reads."""
    spec = client.spec
    uploaded = sorted(k for k in spec.inputs if k.startswith("image:"))
    if uploaded:
        out = []
        for name in uploaded:
            image_id = name.split(":", 1)[1]
            out.append((image_id, inputs.fetch(client, name, work / "images" / image_id)))
        return out  # type: ignore[return-value]
    snapshot = inputs.fetch_snapshot(client, work / "data")
    manifest, split = results.pick_split(snapshot.manifest, spec.config.get("split") or "all")
    files = work / "data" / "files"
    return [(i.path, files / i.path) for i in manifest.images if i.split == split]


def run(client: JobClient, work: Path) -> Finished | None:
    from trainers.base import get_trainer

    spec, config = client.spec, client.spec.config
    images = _images(client, work)
    checkpoint = inputs.fetch_checkpoint(client, work / "model.ckpt")
    trainer = get_trainer(spec.framework or "")
    device = inputs.device(client.spec)
    predictions: list[dict[str, Any]] = []
    for start in range(0, len(images), _BATCH):
        batch = images[start : start + _BATCH]
        found = trainer.predict(
            checkpoint, [p for _, p in batch], device,
            confidence=float(config.get("confidence", 0.25)),
            top_k=int(config.get("top_k", 5)),
        )  # fmt: skip
        for (image_id, _), pred in zip(batch, found, strict=True):
            predictions.append(pred.model_copy(update={"image_id": image_id}).model_dump())
        client.heartbeat(
            progress=90 * len(predictions) / max(1, len(images)),
            message=f"{len(predictions)}/{len(images)} images",
        )
        if client.cancelled:
            return None
    local = dict(images)
    xai = bool(config.get("enable_xai")) and spec.task_type == "image_classification"

    def picture(item: dict[str, Any], out: Path) -> Path:
        image = local[item["image_id"]]
        return results.picture(trainer, checkpoint, device, xai, image, out, item)

    results.publish(
        client, work, spec.task_type or "", predictions, picture,
        int(config.get("max_visualizations", 20)),
    )  # fmt: skip
    return Finished(metrics={"images": len(predictions)})
