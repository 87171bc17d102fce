"""Detection, instance-segmentation and pose metrics: COCO's evaluation, in numpy.

`detection_report` reproduces pycocotools' COCOeval (evaluate, accumulate, summarize)
number for number: IoU thresholds .50:.05:.95, 101-point interpolated precision, at most
100 detections per image and class, COCO's small/medium/large area ranges, crowd regions
(a detection on a crowd region is neither a true nor a false positive; its IoU is the
intersection over the detection's area), greedy matching by score. `iou_type` "bbox"
compares boxes, "segm" masks (polygons or RLE rasterised at the image's size; pycocotools
only rasterises and intersects masks here, the matching and accumulation are ours) and
"keypoints" COCO's object keypoint similarity (OKS). `tests/test_metrics_detection.py`
checks the parity with pycocotools on randomized predictions.

Areas follow COCO's datasets: a ground-truth object's area is its mask's area when it has
a mask, else its box's; a detection's is its box's ("bbox") or its mask's ("segm").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from contract.manifest import Annotation, ImageEntry
from contract.predictions import ImagePrediction, Instance
from trainers.base import EvalReport

# Exactly pycocotools' values (linspace, not arange: arange drifts above .75 and 1.0).
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_POINTS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
AREA_RANGES: dict[str, tuple[float, float]] = {
    "all": (0.0, 1e5**2),
    "small": (0.0, 32.0**2),
    "medium": (32.0**2, 96.0**2),
    "large": (96.0**2, 1e5**2),
}
# Keypoint evaluation has no "small" range and keeps 20 detections (COCO's settings).
KEYPOINT_AREA_RANGES = {k: v for k, v in AREA_RANGES.items() if k != "small"}
MAX_DETS = (1, 10, 100)
KEYPOINT_MAX_DETS = (20,)
# COCO's per-keypoint sigmas for its 17 person keypoints; other skeletons get 1/K each
# (what Ultralytics uses for them).
COCO_KPT_SIGMAS = (
    np.array(
        [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72]
        + [0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89]
    )
    / 10.0
)
# The operating point of the confusion matrix and the per-image numbers.
MATCH_IOU = 0.5
MATCH_CONFIDENCE = 0.25

_PREFIX = {"bbox": "", "segm": "mask_", "keypoints": "pose_"}


@dataclass
class _Objects:
    """The ground truth or the detections of one image and one class, in input order."""

    boxes: np.ndarray  # (N, 4) x, y, w, h
    areas: np.ndarray  # (N,)
    crowd: np.ndarray  # (N,) bool; always False for detections
    ignore: np.ndarray  # (N,) bool: crowd, or (keypoints) no labelled keypoint
    scores: np.ndarray  # (N,); 1 for ground truth
    masks: list[Any]  # pycocotools RLEs ("segm" only)
    keypoints: np.ndarray | None  # (N, K, 3) ("keypoints" only)


def detection_report(
    images: list[ImageEntry],
    predictions: list[ImagePrediction],
    class_names: list[str],
    iou_type: str = "bbox",
    keep_images: bool = False,
) -> EvalReport:
    """COCO evaluation of `predictions` against the annotations of `images`.

    Predictions are matched to images by `image_id == image.path`; an image without a
    prediction has no detections. The primary metric is mAP50-95 (maximize); for "segm"
    every metric key is prefixed "mask_" (and "pose_" for "keypoints") so that
    `merge_reports` can join a job's box and mask reports. Metrics COCO reports as -1
    (no ground truth in an area range) stay -1. Raises ValueError for an unknown
    iou_type or a prediction of an image that is not in `images`.
    """
    if iou_type not in _PREFIX:
        raise ValueError(f"iou_type must be bbox, segm or keypoints, not {iou_type!r}")
    by_id = {p.image_id: p for p in predictions}
    unknown = set(by_id) - {i.path for i in images}
    if unknown:
        raise ValueError(f"predictions for images not in the split: {sorted(unknown)[:5]}")
    num_classes = len(class_names)
    areas = KEYPOINT_AREA_RANGES if iou_type == "keypoints" else AREA_RANGES
    max_dets = KEYPOINT_MAX_DETS if iou_type == "keypoints" else MAX_DETS
    sigmas = _sigmas(images, predictions) if iou_type == "keypoints" else None

    # Per class, per area range: the per-image matching results, in image order.
    evals: dict[tuple[int, str], list[_ImageEval]] = {}
    for image in images:
        pred = by_id.get(image.path)
        instances = pred.instances if pred is not None else []
        for k in range(num_classes):
            gt = _gt_objects(image, [a for a in image.annotations if a.class_id == k], iou_type)
            dt = _dt_objects(image, [d for d in instances if d.class_id == k], iou_type)
            if len(gt.boxes) == 0 and len(dt.boxes) == 0:
                continue
            order = np.argsort(-dt.scores, kind="mergesort")[: max_dets[-1]]
            dt = _take(dt, order)
            ious = _ious(dt, gt, iou_type, sigmas)
            for name, rng in areas.items():
                evals.setdefault((k, name), []).append(_evaluate_image(ious, gt, dt, rng))

    acc = _accumulate(evals, num_classes, list(areas), max_dets)
    metrics = _summary(acc, list(areas), max_dets)
    pr = _operating_point(evals, num_classes, max_dets[-1])
    metrics.update(precision=pr.precision, recall=pr.recall, f1=pr.f1, confidence=pr.confidence)
    prefix = _PREFIX[iou_type]
    per_class = _per_class(acc, pr, class_names, prefix)
    matches = [
        _match_image(image, by_id.get(image.path), iou_type, sigmas, num_classes)
        for image in images
    ]
    confusion = np.zeros((num_classes + 1, num_classes + 1), dtype=np.int64)
    for m in matches:
        confusion += m.confusion
    ap50 = acc.precision[0, :, :, 0, -1]  # (R, K) at IoU .5, all areas, most detections
    pr_curves = {
        f"{prefix}iou_threshold": MATCH_IOU,
        f"{prefix}recall": [round(float(r), 2) for r in RECALL_POINTS],
        f"{prefix}precision": {
            class_names[k]: [float(v) for v in ap50[:, k]]
            for k in range(num_classes)
            if ap50[0, k] > -1
        },
    }
    report = EvalReport(
        primary_metric=f"{prefix}mAP50-95",
        primary_value=metrics["mAP50-95"],
        direction="maximize",
        metrics={f"{prefix}{k}": float(v) for k, v in metrics.items()},
        per_class=per_class,
        confusion_matrix=confusion.tolist(),
        pr_curves=pr_curves,
        images=[
            _image_result(image, m, class_names) for image, m in zip(images, matches, strict=True)
        ]
        if keep_images
        else None,
    )
    return report


def merge_reports(bbox: EvalReport, other: EvalReport) -> EvalReport:
    """One report of a segmentation (or pose) job: the box report's metrics, per-class
    rows and curves joined with the mask ("mask_") or keypoint ("pose_") report's. The
    primary metric is the other report's (mask_mAP50-95 / pose_mAP50-95); the confusion
    matrix and the per-image results are the box report's."""
    per_class = []
    for row, extra in zip(bbox.per_class, other.per_class, strict=True):
        per_class.append(row | {k: v for k, v in extra.items() if k not in row})
    return EvalReport(
        primary_metric=other.primary_metric,
        primary_value=other.primary_value,
        direction=other.direction,
        metrics=bbox.metrics | other.metrics,
        per_class=per_class,
        confusion_matrix=bbox.confusion_matrix,
        pr_curves=(bbox.pr_curves or {}) | (other.pr_curves or {}),
        images=bbox.images,
    )


# --- building the objects -------------------------------------------------------------


def _rle_of_polygons(polygons: list[list[float]], height: int, width: int) -> Any | None:
    from pycocotools import mask as mask_utils

    polys = [list(map(float, p)) for p in polygons if len(p) >= 6]
    if not polys:
        return None
    return mask_utils.merge(mask_utils.frPyObjects(polys, height, width))


def _box_polygon(box: tuple[float, float, float, float] | np.ndarray) -> list[float]:
    x, y, w, h = (float(v) for v in box)
    return [x, y, x + w, y, x + w, y + h, x, y + h]


def _gt_mask(ann: Annotation, image: ImageEntry) -> Any:
    """The annotation's mask as a compressed RLE; its box when it has no outline."""
    from pycocotools import mask as mask_utils

    if ann.rle is not None:
        h, w = ann.rle.size
        if isinstance(ann.rle.counts, str):
            return {"size": [h, w], "counts": ann.rle.counts.encode()}
        return mask_utils.frPyObjects({"size": [h, w], "counts": list(ann.rle.counts)}, h, w)
    rle = _rle_of_polygons(ann.polygons or [], image.height, image.width)
    if rle is None:
        rle = _rle_of_polygons([_box_polygon(ann.bbox)], image.height, image.width)
    return rle


def _gt_objects(image: ImageEntry, anns: list[Annotation], iou_type: str) -> _Objects:
    from pycocotools import mask as mask_utils

    boxes = np.array([a.bbox for a in anns], dtype=np.float64).reshape(-1, 4)
    masks = []
    areas = boxes[:, 2] * boxes[:, 3]
    for i, ann in enumerate(anns):
        # COCO's `area` is the mask's area when the object has a mask.
        if ann.rle is not None or ann.polygons:
            mask = _gt_mask(ann, image)
            areas[i] = float(mask_utils.area(mask))
            masks.append(mask)
        elif iou_type == "segm":
            masks.append(_gt_mask(ann, image))
    crowd = np.array([a.iscrowd for a in anns], dtype=bool)
    ignore = crowd.copy()
    keypoints = None
    if iou_type == "keypoints":
        keypoints = _keypoint_array([a.keypoints for a in anns])
        # COCO ignores people without a labelled keypoint.
        ignore |= ~(keypoints[:, :, 2] > 0).any(axis=1)
    return _Objects(
        boxes=boxes,
        areas=areas,
        crowd=crowd,
        ignore=ignore,
        scores=np.ones(len(anns)),
        masks=masks if iou_type == "segm" else [],
        keypoints=keypoints,
    )


def _dt_objects(image: ImageEntry, dets: list[Instance], iou_type: str) -> _Objects:
    from pycocotools import mask as mask_utils

    boxes = np.array([d.bbox for d in dets], dtype=np.float64).reshape(-1, 4)
    areas = boxes[:, 2] * boxes[:, 3]
    masks = []
    if iou_type == "segm":
        for i, det in enumerate(dets):
            rle = _rle_of_polygons([det.polygon] if det.polygon else [], image.height, image.width)
            if rle is None:  # a detection without an outline: its box
                rle = _rle_of_polygons([_box_polygon(det.bbox)], image.height, image.width)
            masks.append(rle)
            areas[i] = float(mask_utils.area(rle))
    keypoints = None
    if iou_type == "keypoints":
        keypoints = _keypoint_array([d.keypoints for d in dets])
        # COCO measures a keypoint detection by its keypoints' extent, not its box.
        for i, det in enumerate(dets):
            if det.keypoints:
                kx, ky = np.asarray(det.keypoints[0::3]), np.asarray(det.keypoints[1::3])
                boxes[i] = [kx.min(), ky.min(), np.ptp(kx), np.ptp(ky)]
                areas[i] = np.ptp(kx) * np.ptp(ky)
    return _Objects(
        boxes=boxes,
        areas=areas,
        crowd=np.zeros(len(dets), dtype=bool),
        ignore=np.zeros(len(dets), dtype=bool),
        scores=np.array([d.confidence for d in dets], dtype=np.float64),
        masks=masks,
        keypoints=keypoints,
    )


def _keypoint_array(rows: list[list[float] | None]) -> np.ndarray:
    width = max((len(r) for r in rows if r), default=0)
    out = np.zeros((len(rows), width // 3, 3))
    for i, r in enumerate(rows):
        if r:
            out[i, : len(r) // 3] = np.asarray(r, dtype=np.float64).reshape(-1, 3)
    return out


def _take(objs: _Objects, idx: np.ndarray) -> _Objects:
    return _Objects(
        boxes=objs.boxes[idx],
        areas=objs.areas[idx],
        crowd=objs.crowd[idx],
        ignore=objs.ignore[idx],
        scores=objs.scores[idx],
        masks=[objs.masks[i] for i in idx] if objs.masks else [],
        keypoints=objs.keypoints[idx] if objs.keypoints is not None else None,
    )


def _sigmas(images: list[ImageEntry], predictions: list[ImagePrediction]) -> np.ndarray:
    counts = [len(a.keypoints) // 3 for i in images for a in i.annotations if a.keypoints]
    counts += [len(d.keypoints) // 3 for p in predictions for d in p.instances if d.keypoints]
    k = max(counts, default=0)
    if k == len(COCO_KPT_SIGMAS):
        return COCO_KPT_SIGMAS
    return np.full(max(k, 1), 1.0 / max(k, 1))


# --- similarity -----------------------------------------------------------------------


def box_iou(dt: np.ndarray, gt: np.ndarray, crowd: np.ndarray | None = None) -> np.ndarray:
    """(D, G) IoU of x, y, w, h boxes; for a crowd column, intersection over the
    detection's area (COCO's rule)."""
    dt = dt.reshape(-1, 4)
    gt = gt.reshape(-1, 4)
    w = np.minimum(dt[:, None, 0] + dt[:, None, 2], gt[None, :, 0] + gt[None, :, 2]) - np.maximum(
        dt[:, None, 0], gt[None, :, 0]
    )
    h = np.minimum(dt[:, None, 1] + dt[:, None, 3], gt[None, :, 1] + gt[None, :, 3]) - np.maximum(
        dt[:, None, 1], gt[None, :, 1]
    )
    inter = np.clip(w, 0, None) * np.clip(h, 0, None)
    da = (dt[:, 2] * dt[:, 3])[:, None]
    ga = (gt[:, 2] * gt[:, 3])[None, :]
    union = da + ga - inter
    if crowd is not None and crowd.any():
        union = np.where(crowd[None, :], np.broadcast_to(da, union.shape), union)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(inter > 0, inter / union, 0.0)
    return out


def _oks(dt: _Objects, gt: _Objects, sigmas: np.ndarray) -> np.ndarray:
    """COCO's object keypoint similarity (D, G); a ground truth without visible
    keypoints is compared with its doubled box, as COCO does."""
    assert dt.keypoints is not None and gt.keypoints is not None
    out = np.zeros((len(dt.boxes), len(gt.boxes)))
    if out.size == 0:
        return out
    k = len(sigmas)
    var = (sigmas * 2) ** 2
    dk = _pad_kpts(dt.keypoints, k)
    gk = _pad_kpts(gt.keypoints, k)
    for j in range(len(gt.boxes)):
        xg, yg, vg = gk[j, :, 0], gk[j, :, 1], gk[j, :, 2]
        visible = vg > 0
        bx, by, bw, bh = gt.boxes[j]
        x0, x1, y0, y1 = bx - bw, bx + bw * 2, by - bh, by + bh * 2
        xd, yd = dk[:, :, 0], dk[:, :, 1]
        if visible.any():
            dx, dy = xd - xg, yd - yg
        else:
            dx = np.maximum(0, x0 - xd) + np.maximum(0, xd - x1)
            dy = np.maximum(0, y0 - yd) + np.maximum(0, yd - y1)
        e = (dx**2 + dy**2) / var / (gt.areas[j] + np.spacing(1)) / 2
        if visible.any():
            e = e[:, visible]
        out[:, j] = np.sum(np.exp(-e), axis=1) / e.shape[1]
    return out


def _pad_kpts(kpts: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((kpts.shape[0], k, 3))
    n = min(k, kpts.shape[1])
    out[:, :n] = kpts[:, :n]
    return out


def _ious(dt: _Objects, gt: _Objects, iou_type: str, sigmas: np.ndarray | None) -> np.ndarray:
    if len(dt.boxes) == 0 or len(gt.boxes) == 0:
        return np.zeros((len(dt.boxes), len(gt.boxes)))
    if iou_type == "bbox":
        return box_iou(dt.boxes, gt.boxes, gt.crowd)
    if iou_type == "segm":
        from pycocotools import mask as mask_utils

        return np.asarray(
            mask_utils.iou(dt.masks, gt.masks, [int(c) for c in gt.crowd]), dtype=np.float64
        ).reshape(len(dt.boxes), len(gt.boxes))
    assert sigmas is not None
    return _oks(dt, gt, sigmas)


# --- COCOeval: per image, then accumulated --------------------------------------------


@dataclass
class _ImageEval:
    scores: np.ndarray  # (D,) detections, best first
    matched: np.ndarray  # (T, D) bool: a true positive at each IoU threshold
    ignored: np.ndarray  # (T, D) bool: neither true nor false positive
    num_gt: int  # ground-truth objects that count (not crowd, inside the area range)
    matched_gt_iou: np.ndarray  # (T, D) the IoU of the match (0 when unmatched)


def _evaluate_image(
    ious: np.ndarray, gt: _Objects, dt: _Objects, area_range: tuple[float, float]
) -> _ImageEval:
    """COCOeval.evaluateImg for one image, class and area range (detections already
    sorted by score and cut to the most kept)."""
    lo, hi = area_range
    gt_ignore = gt.ignore | (gt.areas < lo) | (gt.areas > hi)
    # Ground truth that counts first, ignored after (a stable sort, as COCO's).
    order = np.argsort(gt_ignore, kind="mergesort")
    gt_ignore = gt_ignore[order]
    crowd = gt.crowd[order]
    ious = ious[:, order]
    t, d, g = len(IOU_THRESHOLDS), len(dt.boxes), len(order)
    gt_taken = np.zeros((t, g), dtype=bool)
    dt_match = np.full((t, d), -1, dtype=np.int64)
    thresholds = np.minimum(IOU_THRESHOLDS, 1 - 1e-10)[:, None]
    if g and d:
        rows = np.arange(t)
        for i in range(d):
            # A detection takes the best free ground truth with IoU >= the threshold
            # (ties: the later one, as COCO's loop); crowd regions stay free. Only when no
            # counting object matches may it fall on an ignored one.
            free = ~gt_taken | crowd[None, :]
            ok = free & (ious[i][None, :] >= thresholds)
            best = np.full(t, -1, dtype=np.int64)
            for group in (~gt_ignore, gt_ignore):
                cand = ok & group[None, :]
                score = np.where(cand, ious[i][None, :], -np.inf)
                last_max = g - 1 - np.argmax(score[:, ::-1], axis=1)
                pick = cand.any(axis=1) & (best < 0)
                best = np.where(pick, last_max, best)
            hit = best >= 0
            dt_match[hit, i] = best[hit]
            gt_taken[rows[hit], best[hit]] = True
    matched = dt_match >= 0
    ignored = np.zeros((t, d), dtype=bool)
    if g:
        ignored[matched] = gt_ignore[dt_match[matched]]
    outside = (dt.areas < lo) | (dt.areas > hi)
    ignored |= ~matched & outside[None, :]
    matched_iou = np.zeros((t, d))
    if g and d:
        cols = np.clip(dt_match, 0, None)
        matched_iou = np.where(matched, ious[np.arange(d)[None, :], cols], 0.0)
    return _ImageEval(
        scores=dt.scores,
        matched=matched,
        ignored=ignored,
        num_gt=int(np.count_nonzero(~gt_ignore)),
        matched_gt_iou=matched_iou,
    )


@dataclass
class _Accumulated:
    precision: np.ndarray  # (T, R, K, A, M); -1 where a class has no ground truth
    recall: np.ndarray  # (T, K, A, M)


def _accumulate(
    evals: dict[tuple[int, str], list[_ImageEval]],
    num_classes: int,
    areas: list[str],
    max_dets: tuple[int, ...],
) -> _Accumulated:
    """COCOeval.accumulate."""
    t, r = len(IOU_THRESHOLDS), len(RECALL_POINTS)
    precision = -np.ones((t, r, num_classes, len(areas), len(max_dets)))
    recall = -np.ones((t, num_classes, len(areas), len(max_dets)))
    for k in range(num_classes):
        for a, area in enumerate(areas):
            found = evals.get((k, area))
            if not found:
                continue
            npig = sum(e.num_gt for e in found)
            if npig == 0:
                continue
            for m, max_det in enumerate(max_dets):
                _, tps, fps = _ranked(found, max_det)
                nd = tps.shape[1]
                tp_sum = np.cumsum(tps, axis=1, dtype=np.float64)
                fp_sum = np.cumsum(fps, axis=1, dtype=np.float64)
                for ti in range(t):
                    rc = tp_sum[ti] / npig
                    pr = tp_sum[ti] / (fp_sum[ti] + tp_sum[ti] + np.spacing(1))
                    recall[ti, k, a, m] = rc[-1] if nd else 0
                    # The precision envelope: best precision at any higher recall.
                    pr = np.maximum.accumulate(pr[::-1])[::-1] if nd else pr
                    idx = np.searchsorted(rc, RECALL_POINTS, side="left")
                    q = np.zeros(r)
                    inside = idx < nd
                    q[inside] = pr[idx[inside]]  # unreachable recall: precision 0
                    precision[ti, :, k, a, m] = q
    return _Accumulated(precision=precision, recall=recall)


def _ranked(found: list[_ImageEval], max_det: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores (N,), true and false positives (T, N) of all images' detections, best
    score first (ties in image order, as COCO's stable sort)."""
    scores = np.concatenate([e.scores[:max_det] for e in found])
    order = np.argsort(-scores, kind="mergesort")
    matched = np.concatenate([e.matched[:, :max_det] for e in found], axis=1)[:, order]
    ignored = np.concatenate([e.ignored[:, :max_det] for e in found], axis=1)[:, order]
    return scores[order], matched & ~ignored, ~matched & ~ignored


def _mean_valid(values: np.ndarray) -> float:
    valid = values[values > -1]
    return float(np.mean(valid)) if valid.size else -1.0


def _summary(acc: _Accumulated, areas: list[str], max_dets: tuple[int, ...]) -> dict[str, float]:
    """COCOeval.summarize's numbers, by name."""
    a_all, m_top = areas.index("all"), len(max_dets) - 1
    p, r = acc.precision, acc.recall
    out = {
        "mAP50-95": _mean_valid(p[:, :, :, a_all, m_top]),
        "mAP50": _mean_valid(p[0, :, :, a_all, m_top]),
        "mAP75": _mean_valid(p[5, :, :, a_all, m_top]),
    }
    for name in ("small", "medium", "large"):
        if name in areas:
            out[f"mAP_{name}"] = _mean_valid(p[:, :, :, areas.index(name), m_top])
    for m, max_det in enumerate(max_dets):
        out[f"AR{max_det}"] = _mean_valid(r[:, :, a_all, m])
    for name in ("small", "medium", "large"):
        if name in areas:
            out[f"AR_{name}"] = _mean_valid(r[:, :, areas.index(name), m_top])
    return out


@dataclass
class _OperatingPoint:
    confidence: float
    precision: float
    recall: float
    f1: float
    per_class: list[tuple[float, float]]  # (precision, recall) per class at `confidence`
    num_gt: list[int]  # per class: ground-truth objects that count


def _operating_point(
    evals: dict[tuple[int, str], list[_ImageEval]], num_classes: int, max_det: int
) -> _OperatingPoint:
    """Precision and recall (IoU .5, all classes pooled) at the confidence that maximises
    F1, and each class's precision and recall at that confidence."""
    scores, tps, fps, classes = [], [], [], []
    npig = np.zeros(num_classes)
    for k in range(num_classes):
        found = evals.get((k, "all"), [])
        npig[k] = sum(e.num_gt for e in found)
        if not found:
            continue
        s, tp, fp = _ranked(found, max_det)
        keep = tp[0] | fp[0]
        scores.append(s[keep])
        tps.append(tp[0][keep])
        fps.append(fp[0][keep])
        classes.append(np.full(int(keep.sum()), k))
    total = npig.sum()
    counts = [int(n) for n in npig]
    nothing = _OperatingPoint(0.0, 0.0, 0.0, 0.0, [(0.0, 0.0)] * num_classes, counts)
    if not scores or total == 0:
        return nothing
    s, tp, fp, c = (np.concatenate(v) for v in (scores, tps, fps, classes))
    order = np.argsort(-s, kind="mergesort")
    s, tp, fp, c = s[order], tp[order], fp[order], c[order]
    if s.size == 0:
        return nothing
    ctp, cfp = np.cumsum(tp), np.cumsum(fp)
    prec = ctp / np.maximum(ctp + cfp, 1)
    rec = ctp / total
    f1 = 2 * prec * rec / np.maximum(prec + rec, 1e-16)
    # Detections of equal score stand or fall together: only cut after the last of them.
    last_of_score = np.append(s[1:] != s[:-1], True)
    best = int(np.argmax(np.where(last_of_score, f1, -1)))
    conf = float(s[best])
    per_class = []
    for k in range(num_classes):
        sel = (c == k) & (s >= conf)
        ktp, kfp = int(tp[sel].sum()), int(fp[sel].sum())
        per_class.append(
            (ktp / (ktp + kfp) if ktp + kfp else 0.0, ktp / npig[k] if npig[k] else 0.0)
        )
    return _OperatingPoint(
        conf, float(prec[best]), float(rec[best]), float(f1[best]), per_class, counts
    )


def _per_class(
    acc: _Accumulated,
    point: _OperatingPoint,
    class_names: list[str],
    prefix: str,
) -> list[dict[str, Any]]:
    rows = []
    for k, name in enumerate(class_names):
        p = acc.precision[:, :, k, 0, -1]
        rows.append(
            {
                "class_id": k,
                "class_name": name,
                f"{prefix}AP50-95": _mean_valid(p),
                f"{prefix}AP50": _mean_valid(p[0]),
                f"{prefix}precision": point.per_class[k][0],
                f"{prefix}recall": point.per_class[k][1],
                "num_gt": point.num_gt[k],
            }
        )
    return rows


# --- the operating point: confusion matrix and per-image results ----------------------


@dataclass
class _ImageMatch:
    confusion: np.ndarray  # (C+1, C+1): rows truth, columns prediction, last background
    pairs: list[tuple[int, int, float]]  # (annotation index, detection index, IoU)
    dets: list[Instance]  # the detections at or above MATCH_CONFIDENCE


def _match_image(
    image: ImageEntry,
    pred: ImagePrediction | None,
    iou_type: str,
    sigmas: np.ndarray | None,
    num_classes: int,
) -> _ImageMatch:
    """Class-agnostic matching at IoU .5 and confidence .25, best IoU first (as
    Ultralytics' confusion matrix): a pair of different classes is a confusion. Crowd
    regions match nothing, and a detection inside one is not a false positive."""
    anns = image.annotations
    gt_all = _gt_objects(image, list(anns), iou_type)
    dets = [d for d in (pred.instances if pred else []) if d.confidence >= MATCH_CONFIDENCE]
    dt_all = _dt_objects(image, dets, iou_type)
    counting = [i for i, a in enumerate(anns) if not a.iscrowd]
    crowd = [i for i, a in enumerate(anns) if a.iscrowd]
    ious = _ious(dt_all, gt_all, iou_type, sigmas)  # (D, G), crowd columns over det area
    pairs: list[tuple[int, int, float]] = []
    if dets and counting:
        sub = ious[:, counting]
        di, gi = np.nonzero(sub >= MATCH_IOU)
        used_d: set[int] = set()
        used_g: set[int] = set()
        for o in np.argsort(-sub[di, gi], kind="mergesort"):
            d, g = int(di[o]), int(gi[o])
            if d not in used_d and g not in used_g:
                used_d.add(d)
                used_g.add(g)
                pairs.append((counting[g], d, float(sub[d, g])))
    confusion = np.zeros((num_classes + 1, num_classes + 1), dtype=np.int64)
    matched_d = {d for _, d, _ in pairs}
    matched_g = {g for g, _, _ in pairs}
    for g, d, _ in pairs:
        confusion[anns[g].class_id, dets[d].class_id] += 1
    for g in counting:
        if g not in matched_g:
            confusion[anns[g].class_id, num_classes] += 1
    for d, det in enumerate(dets):
        if d not in matched_d and not (crowd and ious[d, crowd].max() >= MATCH_IOU):
            confusion[num_classes, det.class_id] += 1
    return _ImageMatch(confusion=confusion, pairs=pairs, dets=dets)


def _instance_dict(det: Instance) -> dict[str, Any]:
    out: dict[str, Any] = {
        "class_id": det.class_id,
        "class_name": det.class_name,
        "bbox": [float(v) for v in det.bbox],
        "confidence": float(det.confidence),
    }
    if det.polygon is not None:
        out["polygon"] = det.polygon
    if det.keypoints is not None:
        out["keypoints"] = det.keypoints
    return out


def _image_result(image: ImageEntry, m: _ImageMatch, class_names: list[str]) -> dict[str, Any]:
    """The seeds' per-image format: detections at confidence >= .25, the truth, and
    their agreement at IoU .5 (a true positive is a match of the same class)."""
    c = len(class_names)
    tp = int(np.trace(m.confusion[:c, :c]))
    fp = int(m.confusion[:, :c].sum()) - tp
    fn = int(m.confusion[:c, :].sum()) - tp
    ious = [iou for g, d, iou in m.pairs if image.annotations[g].class_id == m.dets[d].class_id]
    truth = []
    for a in image.annotations:
        box: dict[str, Any] = {
            "class_id": a.class_id,
            "class_name": class_names[a.class_id],
            "bbox": [float(v) for v in a.bbox],
        }
        if a.iscrowd:
            box["iscrowd"] = True
        truth.append(box)
    return {
        "image_id": image.path,
        "image_path": image.path,
        "predictions": {"boxes": [_instance_dict(d) for d in m.dets]},
        "ground_truth": {"boxes": truth},
        "metrics": {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else (1.0 if fn == 0 else 0.0),
            "recall": tp / (tp + fn) if tp + fn else (1.0 if fp == 0 else 0.0),
            "mean_iou": float(np.mean(ious)) if ious else 0.0,
        },
    }
