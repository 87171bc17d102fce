"""Validation after export: the exported model measured on a labelled split with the
metrics the trainers use, so its figure sits next to the checkpoint's on equal terms.

What differs by task is a row of CHECKS: how the exported model's predictions are
scored, and (where the task has one) how closely they agree with the checkpoint's own
per-image predictions. A task adds its row; nothing else here changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from contract.manifest import ImageEntry, Manifest
from contract.predictions import ImagePrediction
from trainers.base import EvalReport

# Every detection down to this confidence counts for mAP (as the trainers evaluate).
EVAL_CONFIDENCE = 0.001
EVAL_MAX_DETECTIONS = 300

Score = Callable[[list[ImageEntry], list[ImagePrediction], list[str]], EvalReport]
# The checkpoint's per-image test-run results and the exported model's predictions -> a
# share in [0, 1].
Agreement = Callable[[list[dict[str, Any]], list[ImagePrediction]], float]


@dataclass(frozen=True)
class TaskCheck:
    score: Score
    agreement: tuple[str, Agreement] | None = None  # (its name in the outcome, how)


def _classification(
    images: list[ImageEntry], predictions: list[ImagePrediction], classes: list[str]
) -> EvalReport:
    from trainers.metrics.classification import classification_report

    probabilities = np.zeros((len(images), len(classes)))
    for row, pred in zip(probabilities, predictions, strict=True):
        for score in pred.classes:
            row[score.class_id] = score.confidence
    labels = [int(i.label) for i in images]  # type: ignore[arg-type]
    ids = [i.path for i in images]
    return classification_report(labels, probabilities, classes, image_ids=ids)


def _coco(*extra: str) -> Score:
    """COCO's box metrics, joined with its mask ("segm") or keypoint metrics."""

    def score(
        images: list[ImageEntry], predictions: list[ImagePrediction], classes: list[str]
    ) -> EvalReport:
        from trainers.metrics.detection import detection_report, merge_reports

        report = detection_report(images, predictions, classes, "bbox")
        for iou_type in extra:
            report = merge_reports(report, detection_report(images, predictions, classes, iou_type))
        return report

    return score


def _semantic(
    images: list[ImageEntry], predictions: list[ImagePrediction], classes: list[str]
) -> EvalReport:
    from trainers.metrics.semantic import mask_report

    return mask_report(images, predictions, classes)


def _pixel_agreement(reference: list[dict[str, Any]], exported: list[ImagePrediction]) -> float:
    from trainers.metrics.semantic import pixel_agreement

    return pixel_agreement(reference, exported)


def top1_agreement(reference: list[dict[str, Any]], exported: list[ImagePrediction]) -> float:
    """Share of images whose best class is the same for the checkpoint (its test-run
    image results) and the exported model."""
    best = {}
    for item in reference:
        preds = item.get("predictions") or {}
        top = (preds.get("classes") or preds.get("top_k") or [{}])[0]
        best[item.get("image_id")] = top.get("class_id")
    same = sum(1 for p in exported if p.classes and best.get(p.image_id) == p.classes[0].class_id)
    return same / max(len(exported), 1)


CHECKS: dict[str, TaskCheck] = {
    "image_classification": TaskCheck(_classification, ("top1_agreement", top1_agreement)),
    "object_detection": TaskCheck(_coco()),
    "instance_segmentation": TaskCheck(_coco("segm")),
    "pose_estimation": TaskCheck(_coco("keypoints")),
    "semantic_segmentation": TaskCheck(_semantic, ("pixel_agreement", _pixel_agreement)),
}


def check_of(task_type: str) -> TaskCheck:
    """The task's row of CHECKS. ValueError for a task without one."""
    if task_type not in CHECKS:
        raise ValueError(f"Exports of {task_type or 'an unknown task'} cannot be validated")
    return CHECKS[task_type]


def measure(
    predictor: Any, manifest: Manifest, files: Path, split: str, task_type: str
) -> tuple[EvalReport, list[ImagePrediction]]:
    """The exported model's report on `split`, and its prediction per image. ValueError
    for a task CHECKS has no row for."""
    from PIL import Image

    check = check_of(task_type)
    images: list[ImageEntry] = [i for i in manifest.images if i.split == split]
    classes = manifest.classes
    predictions = []
    for entry in images:
        with Image.open(files / entry.path) as opened:
            raw = predictor.predict(
                opened.convert("RGB"),
                top_k=len(classes),
                confidence=EVAL_CONFIDENCE,
                max_detections=EVAL_MAX_DETECTIONS,
            )
        predictions.append(ImagePrediction.model_validate({**raw, "image_id": entry.path}))
    return check.score(images, predictions, classes), predictions


def agreement(
    task_type: str, reference: list[dict[str, Any]], exported: list[ImagePrediction]
) -> dict[str, float]:
    """{name: share} of how often the exported model says what the checkpoint said,
    for a task that has such a measure (classification: top-1 class; semantic
    segmentation: pixels); {} for the others."""
    found = check_of(task_type).agreement
    if found is None:
        return {}
    name, how = found
    return {name: how(reference, exported)}


def compare(checkpoint: EvalReport, exported: EvalReport, max_drop: float) -> dict[str, Any]:
    """Both figures of the primary metric, the drop (worse is positive, whichever way the
    metric points) and whether it stays within `max_drop`."""
    sign = 1.0 if checkpoint.direction == "maximize" else -1.0
    drop = sign * (checkpoint.primary_value - exported.primary_value)
    return {
        "metric": checkpoint.primary_metric,
        "checkpoint": float(checkpoint.primary_value),
        "exported": float(exported.primary_value),
        "drop": float(drop),
        "max_drop": max_drop,
        "passed": bool(drop <= max_drop + 1e-12),
        "checkpoint_metrics": {k: float(v) for k, v in checkpoint.metrics.items()},
        "exported_metrics": {k: float(v) for k, v in exported.metrics.items()},
    }
