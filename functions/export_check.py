"""Validation after export: the exported model measured on a labelled split with the
metrics the trainers use, so its figure sits next to the checkpoint's on equal terms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from contract.manifest import ImageEntry, Manifest
from contract.predictions import ImagePrediction
from trainers.base import EvalReport

# Every detection down to this confidence counts for mAP (as the trainers evaluate).
EVAL_CONFIDENCE = 0.001
EVAL_MAX_DETECTIONS = 300


def measure(
    predictor: Any, manifest: Manifest, files: Path, split: str, task_type: str
) -> tuple[EvalReport, list[ImagePrediction]]:
    """The exported model's report on `split`, and its prediction per image."""
    from PIL import Image

    from trainers.metrics.classification import classification_report
    from trainers.metrics.detection import detection_report, merge_reports

    images: list[ImageEntry] = [i for i in manifest.images if i.split == split]
    classes = manifest.classes
    classify = task_type == "image_classification"
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
    if classify:
        probabilities = np.zeros((len(images), len(classes)))
        for row, pred in zip(probabilities, predictions, strict=True):
            for score in pred.classes:
                row[score.class_id] = score.confidence
        labels = [int(i.label) for i in images]  # type: ignore[arg-type]
        ids = [i.path for i in images]
        return classification_report(labels, probabilities, classes, image_ids=ids), predictions
    report = detection_report(images, predictions, classes, "bbox")
    if task_type == "instance_segmentation":
        report = merge_reports(report, detection_report(images, predictions, classes, "segm"))
    elif task_type == "pose_estimation":
        report = merge_reports(report, detection_report(images, predictions, classes, "keypoints"))
    return report, predictions


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
