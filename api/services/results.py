"""Reading what test runs and inference jobs left in storage: the per-image results file
(`results/{job}/images.json`) a page at a time, and their visualizations."""

from __future__ import annotations

import json
import os
from pathlib import PurePosixPath
from typing import Any

from api.errors import Conflict
from api.schemas.evaluation import ResultImage, ResultsPage
from api.services.storage import ObjectNotFound, get_storage
from api.settings import Settings


def page(
    settings: Settings,
    job: Any,
    offset: int,
    limit: int,
    *,
    wrong_only: bool = False,
    files_prefix: str | None = None,
) -> ResultsPage:
    """Images `offset`..`offset+limit` of the job's results (of its wrong ones only, with
    `wrong_only`), each with its position in the whole file, whether the prediction
    matched the truth, and presigned links to its picture (the dataset's file under
    `files_prefix`, when given) and to its visualization. Conflict while the job has
    written none."""
    if not job.results_key:
        raise Conflict(f"The job is {job.status.value} and has no results yet", code="no_results")
    storage = get_storage(settings)
    try:
        body = json.loads(storage.get_bytes(job.results_key))
    except ObjectNotFound:
        raise Conflict("The job's results are gone from storage", code="no_results") from None
    everything = body.get("images", [])
    verdicts = [is_correct(item) for item in everything]
    chosen = [i for i, ok in enumerate(verdicts) if not wrong_only or ok is False]
    visuals: dict[str, str] = {}
    if job.visualizations_prefix:
        for info in storage.list(job.visualizations_prefix):
            name = info.key[len(job.visualizations_prefix) :]
            visuals[name] = storage.presign_get(info.key)
    images = []
    for index in chosen[offset : offset + limit]:
        item = everything[index]
        path = item.get("image_path") or item.get("image_id")
        images.append(
            ResultImage.model_validate(
                {
                    **item,
                    "index": index,
                    "correct": verdicts[index],
                    "image_url": storage.presign_get(f"{files_prefix}{path}")
                    if files_prefix and path
                    else None,
                    "visualization_url": visuals.get(visualization_name(index, item)),
                }
            )
        )
    compared = [ok for ok in verdicts if ok is not None]
    return ResultsPage(
        job_id=str(job.id),
        task_type=body.get("task_type", job.task_type),
        num_images=body.get("num_images", len(everything)),
        num_wrong=compared.count(False) if compared else None,
        total=len(chosen),
        offset=offset,
        images=images,
        visualizations=visuals,
    )


def is_correct(item: dict[str, Any]) -> bool | None:
    """Whether an image's prediction matched its truth: the predicted class for
    classification; for detection, no false positive and no missed object. None where
    the result has nothing to compare with (inference without ground truth)."""
    metrics = item.get("metrics")
    if not isinstance(metrics, dict) or item.get("ground_truth") is None:
        return None
    if "correct" in metrics:
        return bool(metrics["correct"])
    if "fp" in metrics and "fn" in metrics:
        return metrics["fp"] == 0 and metrics["fn"] == 0
    return None


def visualization_name(index: int, item: dict[str, Any]) -> str:
    """The file name functions/results.py gives the picture of the `index`th image."""
    base = os.path.basename(str(item.get("image_id", "")))
    return f"{index:04d}-{PurePosixPath(base).stem}.png"
