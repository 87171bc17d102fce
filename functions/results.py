"""What test runs and inference jobs leave behind: the per-image results file and drawn
visualizations, uploaded under `results/{job}/`, then named in a `results` event."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contract.manifest import SPLITS, Manifest
from functions.client import JobClient


def pick_split(manifest: Manifest, split: str | None) -> tuple[Manifest, str]:
    """The manifest and split name to run on: `split` as asked; by default the test
    split, else val, else every image. "all" runs on every image (as one split)."""
    present = {i.split for i in manifest.images}
    if split is None:
        split = next((s for s in ("test", "val") if s in present), "all")
    if split == "all":
        images = [i.model_copy(update={"split": "test"}) for i in manifest.images]
        return manifest.model_copy(update={"images": images}), "test"
    if split not in SPLITS or split not in present:
        raise ValueError(f"The dataset has no {split!r} split (it has {sorted(present)})")
    return manifest, split


def publish(
    client: JobClient,
    work: Path,
    task_type: str,
    images: list[dict[str, Any]],
    visualize: Callable[[dict[str, Any], Path], Path | None],
    max_visualizations: int,
) -> None:
    """Upload images.json and up to `max_visualizations` pictures (made by `visualize`
    from a per-image result), then record where they are."""
    body = {
        "format_version": "1.0",
        "job_id": client.spec.job_id,
        "task_type": task_type,
        "num_images": len(images),
        "generated_at": datetime.now(UTC).isoformat(),
        "images": images,
    }
    path = work / "images.json"
    path.write_text(json.dumps(body))
    key = client.upload("images.json", path)
    prefix = None
    for i, item in enumerate(images[:max_visualizations]):
        name = f"{i:04d}-{os.path.basename(str(item['image_id']))}"
        picture = visualize(item, work / "visualizations" / f"{Path(name).stem}.png")
        if picture is not None:
            uploaded = client.upload(f"visualizations/{picture.name}", picture)
            prefix = uploaded[: -len(picture.name)]
        if client.cancelled:
            return
    client.event("results", key=key, visualizations=prefix, count=len(images))


def picture(
    trainer: Any,
    checkpoint: Path,
    device: str,
    xai: bool,
    image: Path,
    out: Path,
    prediction: dict[str, Any],
    truth: dict[str, Any] | None = None,
) -> Path:
    """A Grad-CAM overlay when asked and the model can explain itself (classification
    with timm or ViT); otherwise the prediction (and the truth) drawn on the image."""
    if xai:
        try:
            return trainer.explain(checkpoint, image, out, device=device)  # type: ignore[no-any-return]
        except NotImplementedError:
            pass  # this framework has no explanation: draw instead of failing the job
    from trainers import visualize

    return visualize.draw(image, prediction, out, truth)
