"""Classification metrics from labels and predicted probabilities, in numpy only.

Every framework's classifier is measured by this one function, so an accuracy means
the same thing whichever framework trained the model. The definitions follow
scikit-learn's (with `zero_division=0`) exactly; tests/test_metrics_classification.py
checks them against scikit-learn, which is only a development dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from trainers.base import EvalReport

MAX_CURVE_POINTS = 101  # points per precision-recall curve kept in a report
TOP_K = 5


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (sklearn's zero_division=0)."""
    out = np.zeros(np.broadcast(numerator, denominator).shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """C x C counts: rows are the true class, columns the predicted one."""
    flat = labels.astype(np.int64) * num_classes + predicted.astype(np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, -1)


def top_k_hits(labels: np.ndarray, probabilities: np.ndarray, k: int) -> np.ndarray:
    """Whether each true class is among the k highest probabilities.

    Ties rank as scikit-learn's top_k_accuracy_score ranks them (the higher class id
    first), so the figure is the same on one-hot or otherwise tied scores.
    """
    ranked = np.argsort(probabilities, axis=1, kind="mergesort")[:, ::-1][:, :k]
    return (ranked == labels[:, None]).any(axis=1)


def precision_recall_curve(
    positive: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """One-vs-rest precision, recall (recall decreasing, ending at precision 1, recall 0)
    and the average precision, as scikit-learn's precision_recall_curve and
    average_precision_score compute them. With no positive at all, recall is 1 at every
    threshold and the average precision is 0 (scikit-learn's convention)."""
    order = np.argsort(scores, kind="mergesort")[::-1]
    sorted_scores = scores[order]
    hits = positive[order].astype(np.float64)
    # The last index of each run of equal scores: one point per distinct threshold.
    distinct = np.flatnonzero(np.diff(sorted_scores))
    ends = np.r_[distinct, hits.size - 1]
    tps = np.cumsum(hits)[ends]
    fps = 1 + ends - tps
    precision = _divide(tps, tps + fps)
    recall = np.ones_like(tps) if tps[-1] == 0 else tps / tps[-1]
    precision = np.r_[precision[::-1], 1.0]
    recall = np.r_[recall[::-1], 0.0]
    average_precision = float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))
    return precision, recall, average_precision


def _downsample(values: np.ndarray, points: int = MAX_CURVE_POINTS) -> list[float]:
    """At most `points` values, evenly spread, first and last always kept."""
    if values.size <= points:
        return [float(v) for v in values]
    keep = np.unique(np.linspace(0, values.size - 1, points).round().astype(np.int64))
    return [float(v) for v in values[keep]]


def classification_report(
    labels: Sequence[int] | np.ndarray,
    probabilities: np.ndarray,
    class_names: list[str],
    image_ids: list[str] | None = None,
    keep_images: bool = False,
    image_paths: list[str] | None = None,
) -> EvalReport:
    """Measure predicted class probabilities (N x C, rows summing to 1) against the true
    class ids.

    The primary metric is accuracy (maximize). Macro averages run over the classes that
    occur in the truth or the predictions (scikit-learn's default); per-class figures
    cover every class, 0 where undefined. With `keep_images`, `images` holds one entry
    per image in the test-run format (top-5 predictions, truth, correct, confidence);
    `image_paths` default to `image_ids`, and those to the row numbers.

    Raises ValueError when the shapes disagree or a label is not a class id.
    """
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    n_classes = len(class_names)
    if p.ndim != 2 or p.shape != (y.size, n_classes):
        raise ValueError(
            f"probabilities must be {y.size} x {n_classes} (images x classes), got {p.shape}"
        )
    if y.size == 0:
        raise ValueError("no images to measure")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"labels must be class ids in 0..{n_classes - 1}")

    predicted = p.argmax(axis=1)
    cm = confusion_matrix(y, predicted, n_classes)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1).astype(np.float64)
    predicted_count = cm.sum(axis=0).astype(np.float64)
    precision = _divide(tp, predicted_count)
    recall = _divide(tp, support)
    f1 = _divide(2 * tp, support + predicted_count)
    present = (support > 0) | (predicted_count > 0)
    weights = support / support.sum()
    k = min(TOP_K, n_classes)
    clipped = np.clip(p, np.finfo(np.float64).eps, 1 - np.finfo(np.float64).eps)

    metrics = {
        "accuracy": float(np.mean(predicted == y)),
        "balanced_accuracy": float(np.mean(recall[support > 0])),
        "precision_macro": float(np.mean(precision[present])),
        "recall_macro": float(np.mean(recall[present])),
        "f1_macro": float(np.mean(f1[present])),
        "precision_weighted": float(np.sum(precision * weights)),
        "recall_weighted": float(np.sum(recall * weights)),
        "f1_weighted": float(np.sum(f1 * weights)),
        "top5_accuracy": float(np.mean(top_k_hits(y, p, k))),
        "loss": float(np.mean(-np.log(clipped[np.arange(y.size), y]))),
    }
    per_class = [
        {
            "class_id": c,
            "class_name": class_names[c],
            "precision": float(precision[c]),
            "recall": float(recall[c]),
            "f1": float(f1[c]),
            "support": int(support[c]),
        }
        for c in range(n_classes)
    ]
    curves = []
    for c in range(n_classes):
        prec, rec, ap = precision_recall_curve(y == c, p[:, c])
        curves.append(
            {
                "class_id": c,
                "class_name": class_names[c],
                "precision": _downsample(prec),
                "recall": _downsample(rec),
                "average_precision": ap,
                "support": int(support[c]),
            }
        )
    images = None
    if keep_images:
        images = _image_results(y, p, predicted, class_names, image_ids, image_paths, k)
    return EvalReport(
        primary_metric="accuracy",
        primary_value=metrics["accuracy"],
        direction="maximize",
        metrics=metrics,
        per_class=per_class,
        confusion_matrix=cm.tolist(),
        pr_curves={"classes": curves},
        images=images,
    )


def _image_results(
    y: np.ndarray,
    p: np.ndarray,
    predicted: np.ndarray,
    class_names: list[str],
    image_ids: list[str] | None,
    image_paths: list[str] | None,
    k: int,
) -> list[dict[str, Any]]:
    ids = image_ids if image_ids is not None else [str(i) for i in range(y.size)]
    paths = image_paths if image_paths is not None else ids
    if len(ids) != y.size or len(paths) != y.size:
        raise ValueError("image_ids and image_paths need one entry per image")
    best = np.argsort(-p, axis=1, kind="stable")[:, :k]  # best first, ties by class id
    out = []
    for i in range(y.size):
        out.append(
            {
                "image_id": ids[i],
                "image_path": paths[i],
                "predictions": {
                    "classes": [
                        {
                            "class_id": int(c),
                            "class_name": class_names[c],
                            "confidence": float(p[i, c]),
                        }
                        for c in best[i]
                    ]
                },
                "ground_truth": {"class_id": int(y[i]), "class_name": class_names[y[i]]},
                "metrics": {
                    "correct": float(predicted[i] == y[i]),
                    "confidence": float(p[i, predicted[i]]),
                },
            }
        )
    return out
