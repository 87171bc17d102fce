"""Semantic segmentation metrics from per-pixel class maps, in numpy only.

Every pixel whose truth is `ignore_index` (255, as Pascal VOC, ADE20K and
mmsegmentation mark void pixels) is left out of every count. From the accumulated
C x C confusion matrix (rows: truth, columns: prediction):

- IoU of class c = TP / (TP + FP + FN); a class that is neither in the truth nor
  predicted has no IoU (None) and is left out of the mean, as mmsegmentation's
  nanmean does. mIoU, the primary metric, is that mean.
- pixel_accuracy = correct pixels / counted pixels; mean_accuracy = the mean over the
  classes present in the truth of their recall (mmsegmentation's mAcc).

Masks are scored at each image's own pixels (the manifest's truth against the predicted
mask mapped back to the image, as vap_runtime answers), so the trainer's figure, a test
run's and the exported model's (functions/export_check.py) count the same pixels.

The truth comes in the normalized manifest as COCO-Stuff stores semantic labels: per
image, one non-crowd annotation per class whose RLE marks that class's pixels; pixels
no annotation covers (crowd annotations included) are void.

tests/test_semantic_segmentation.py checks these against a computation of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from contract.manifest import ImageEntry, Rle
from contract.predictions import ImagePrediction
from trainers.base import EvalReport
from vap_runtime.model import VOID, decode_mask, encode_mask

IGNORE_INDEX = VOID


# --- the truth -----------------------------------------------------------------------------


def decode_rle(rle: Rle) -> np.ndarray:
    """A COCO RLE (uncompressed runs or the compressed string) as an (H, W) bool mask."""
    height, width = rle.size
    if isinstance(rle.counts, str):
        from pycocotools import mask as mask_utils

        encoded = {"size": [height, width], "counts": rle.counts.encode()}
        return np.asarray(mask_utils.decode(encoded), bool)
    counts = np.asarray(rle.counts, np.int64)
    if counts.sum() != height * width:
        raise ValueError(f"RLE runs cover {counts.sum()} pixels, not {height}x{width}")
    # COCO's runs alternate 0s and 1s (the first run is of 0s) in column-major order
    flat = np.repeat(np.arange(counts.size) % 2 == 1, counts)
    return flat.reshape(width, height).T  # type: ignore[no-any-return]


def class_map(entry: ImageEntry, label_map: dict[int, int] | None = None) -> np.ndarray:
    """The (height, width) uint8 class index per pixel of a manifest image; IGNORE_INDEX
    where no non-crowd annotation says. ValueError for a mask of another size."""
    out = np.full((entry.height, entry.width), IGNORE_INDEX, np.uint8)
    for ann in entry.annotations:
        if ann.iscrowd or ann.rle is None:
            continue
        mask = decode_rle(ann.rle)
        if mask.shape != out.shape:
            raise ValueError(f"{entry.path}: a {mask.shape} mask on a {out.shape} image")
        out[mask] = label_map[ann.class_id] if label_map is not None else ann.class_id
    return out


# --- counting ------------------------------------------------------------------------------


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


# --- per image, and exported models ----------------------------------------------------------


def image_result(
    entry: ImageEntry, truth: np.ndarray, predicted: np.ndarray, class_names: Sequence[str]
) -> dict[str, Any]:
    """One image of a test run (contract.predictions.ImageResult): the predicted and the
    true mask (vap_runtime's encoding; void stays 255 in the truth's PNG) and the image's
    own mIoU, pixel accuracy, mean accuracy and "IoU/<class>" of each class it shows or
    predicts."""
    metrics, iou = scores(confusion(truth, predicted, len(class_names)))
    per_class = {f"IoU/{class_names[c]}": v for c, v in enumerate(iou) if v is not None}
    return {
        "image_id": entry.path,
        "image_path": entry.path,
        "predictions": {"mask": encode_mask(predicted, class_names)},
        "ground_truth": {"mask": encode_mask(truth, class_names)},
        "metrics": metrics | per_class,
    }


def mask_report(
    images: list[ImageEntry], predictions: list[ImagePrediction], class_names: list[str]
) -> EvalReport:
    """The report of predicted masks (matched to `images` by image_id == path) against
    the manifest's truth: what the trainer measures, from a model that answers masks (an
    export). ValueError for an image without a mask or a mask of another size."""
    by_id = {p.image_id: p for p in predictions}
    n = len(class_names)
    total = np.zeros((n, n), np.int64)
    for entry in images:
        found = by_id.get(entry.path)
        if found is None or found.mask is None:
            raise ValueError(f"{entry.path}: no mask was predicted")
        predicted = decode_mask(found.mask.model_dump())
        truth = class_map(entry)
        if predicted.shape != truth.shape:
            raise ValueError(f"{entry.path}: a {predicted.shape} mask on a {truth.shape} image")
        total += confusion(truth, predicted, n)
    return semantic_report(total, class_names)


def pixel_agreement(reference: list[dict[str, Any]], exported: list[ImagePrediction]) -> float:
    """Share of pixels whose class is the same for the checkpoint (its test-run image
    results) and the exported model, over the images both have a mask of."""
    masks = {
        item.get("image_id"): (item.get("predictions") or {}).get("mask") for item in reference
    }
    same = total = 0
    for pred in exported:
        theirs = masks.get(pred.image_id)
        if pred.mask is None or theirs is None:
            continue
        a, b = decode_mask(theirs), decode_mask(pred.mask.model_dump())
        if a.shape == b.shape:
            same += int(np.sum(a == b))
            total += a.size
    return same / total if total else 0.0
