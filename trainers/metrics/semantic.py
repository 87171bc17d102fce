"""Semantic segmentation metrics from per-pixel class maps, in numpy only.

Every pixel whose truth is `ignore_index` (255, as Pascal VOC, ADE20K and
mmsegmentation mark void pixels) is left out of every count. From the accumulated
C x C confusion matrix (rows: truth, columns: prediction):

- IoU of class c = TP / (TP + FP + FN); a class that is neither in the truth nor
  predicted has no IoU (None) and is left out of the mean, as mmsegmentation's
  nanmean does. mIoU, the primary metric, is that mean.
- pixel_accuracy = correct pixels / counted pixels; mean_accuracy = the mean over the
  classes present in the truth of their recall (mmsegmentation's mAcc).

tests/test_semantic_segmentation.py checks these against a computation of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from trainers.base import EvalReport

IGNORE_INDEX = 255


def confusion(
    truth: np.ndarray, predicted: np.ndarray, num_classes: int, ignore_index: int = IGNORE_INDEX
) -> np.ndarray:
    """C x C pixel counts of one or many maps of the same shape (rows: truth)."""
    t = np.asarray(truth).reshape(-1).astype(np.int64)
    p = np.asarray(predicted).reshape(-1).astype(np.int64)
    keep = (t != ignore_index) & (t >= 0) & (t < num_classes)
    flat = t[keep] * num_classes + p[keep]
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, -1)


def scores(cm: np.ndarray) -> tuple[dict[str, float], list[float | None]]:
    """The summary metrics and each class's IoU (None where the class has no pixel in
    truth or prediction) of a confusion matrix."""
    cm = np.asarray(cm, np.float64)
    tp = np.diag(cm)
    truth, predicted = cm.sum(axis=1), cm.sum(axis=0)
    union = truth + predicted - tp
    iou = [float(tp[c] / union[c]) if union[c] > 0 else None for c in range(len(tp))]
    present = [v for v in iou if v is not None]
    total = cm.sum()
    recall = [tp[c] / truth[c] for c in range(len(tp)) if truth[c] > 0]
    metrics = {
        "mIoU": float(np.mean(present)) if present else 0.0,
        "pixel_accuracy": float(tp.sum() / total) if total > 0 else 0.0,
        "mean_accuracy": float(np.mean(recall)) if recall else 0.0,
    }
    return metrics, iou


def semantic_report(
    cm: np.ndarray,
    class_names: Sequence[str],
    per_image: list[dict[str, Any]] | None = None,
) -> EvalReport:
    """The report of a model whose pixels were counted into `cm`; `per_image` (test runs)
    is kept as the report's images."""
    metrics, iou = scores(cm)
    truth, predicted = np.asarray(cm).sum(axis=1), np.asarray(cm).sum(axis=0)
    per_class = [
        {
            "class_id": c,
            "class_name": class_names[c],
            "iou": iou[c],
            "pixels": int(truth[c]),  # in the truth (the class's support)
            "predicted_pixels": int(predicted[c]),
        }
        for c in range(len(class_names))
    ]
    return EvalReport(
        primary_metric="mIoU",
        primary_value=metrics["mIoU"],
        direction="maximize",
        metrics=metrics,
        per_class=per_class,
        confusion_matrix=np.asarray(cm).astype(np.int64).tolist(),
        images=per_image,
    )
