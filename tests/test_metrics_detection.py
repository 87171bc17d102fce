"""Our COCO evaluation gives pycocotools' numbers, on randomized predictions."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from contract.manifest import Annotation, ImageEntry, Rle
from contract.predictions import ImagePrediction, Instance
from trainers.metrics.detection import detection_report, merge_reports

CLASSES = ["person", "car", "dog"]
# stats index -> our metric name (COCOeval.summarize's order)
DET_STATS = {
    0: "mAP50-95",
    1: "mAP50",
    2: "mAP75",
    3: "mAP_small",
    4: "mAP_medium",
    5: "mAP_large",
    6: "AR1",
    7: "AR10",
    8: "AR100",
    9: "AR_small",
    10: "AR_medium",
    11: "AR_large",
}
KPT_STATS = {0: "mAP50-95", 1: "mAP50", 2: "mAP75", 3: "mAP_medium", 4: "mAP_large", 5: "AR20"}


def _polygon_in(rng: np.random.Generator, x: float, y: float, w: float, h: float) -> list[float]:
    """A star-shaped polygon inside the box (8-12 points)."""
    n = int(rng.integers(8, 13))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radius = rng.uniform(0.6, 1.0, n)
    px = x + w / 2 + np.cos(angles) * radius * w / 2
    py = y + h / 2 + np.sin(angles) * radius * h / 2
    return [float(v) for pair in zip(px, py, strict=True) for v in pair]


def _jitter_polygon(rng: np.random.Generator, poly: list[float], scale: float) -> list[float]:
    return [float(v + rng.normal(0, scale)) for v in poly]


def _random_box(rng: np.random.Generator, width: int, height: int) -> list[float]:
    # Sizes across COCO's small (< 32^2), medium and large (> 96^2) ranges.
    side = float(rng.choice([rng.uniform(6, 30), rng.uniform(35, 90), rng.uniform(100, 220)]))
    w = min(side * rng.uniform(0.6, 1.4), width - 2)
    h = min(side * rng.uniform(0.6, 1.4), height - 2)
    x = rng.uniform(0, width - w)
    y = rng.uniform(0, height - h)
    return [round(x, 2), round(y, 2), round(w, 2), round(h, 2)]


def _keypoints_in(rng: np.random.Generator, box: list[float], k: int) -> list[float]:
    x, y, w, h = box
    out: list[float] = []
    for _ in range(k):
        v = int(rng.choice([0, 1, 2], p=[0.2, 0.3, 0.5]))
        out += [float(rng.uniform(x, x + w)), float(rng.uniform(y, y + h)), v]
        if v == 0:
            out[-3:-1] = [0.0, 0.0]
    return out


def _scenario(seed: int, kind: str) -> tuple[list[ImageEntry], list[ImagePrediction]]:
    """Images with random ground truth and predictions: jittered true boxes, wrong
    classes, false positives, missed objects, crowd regions, images without truth or
    without predictions, tied scores."""
    rng = np.random.default_rng(seed)
    images, predictions = [], []
    nk = 17
    for i in range(int(rng.integers(10, 16))):
        width, height = int(rng.integers(240, 480)), int(rng.integers(200, 420))
        anns: list[Annotation] = []
        n_gt = 0 if i % 5 == 3 else int(rng.integers(1, 7))
        for _ in range(n_gt):
            box = _random_box(rng, width, height)
            cls = 0 if kind == "keypoints" else int(rng.integers(0, len(CLASSES)))
            crowd = bool(rng.random() < 0.1)
            ann: dict[str, Any] = {"class_id": cls, "bbox": tuple(box), "iscrowd": crowd}
            if kind == "segm":
                poly = _polygon_in(rng, *box)
                if crowd or rng.random() < 0.3:  # an RLE mask, compressed or not
                    rle = mask_utils.merge(mask_utils.frPyObjects([poly], height, width))
                    if rng.random() < 0.5:
                        ann["rle"] = Rle(size=(height, width), counts=rle["counts"].decode())
                    else:
                        m = mask_utils.decode(rle).ravel(order="F")
                        change = np.flatnonzero(np.diff(np.concatenate([[0], m, [1 - m[-1]]])))
                        runs = np.diff(np.concatenate([[0], change]))
                        ann["rle"] = Rle(size=(height, width), counts=[int(r) for r in runs])
                else:
                    ann["polygons"] = [poly]
            if kind == "keypoints":
                ann["keypoints"] = _keypoints_in(rng, box, nk)
            anns.append(Annotation(**ann))
        path = f"img_{i}.jpg"
        images.append(
            ImageEntry(
                path=path,
                split="val",
                width=width,
                height=height,
                size=1,
                sha256="0" * 64,
                annotations=anns,
            )
        )
        if i % 5 == 4:
            continue  # an image without predictions
        dets: list[Instance] = []
        for ann_obj in anns:
            if rng.random() < 0.2:
                continue  # missed
            for _ in range(int(rng.integers(1, 3))):  # sometimes a duplicate
                x, y, w, h = ann_obj.bbox
                s = rng.uniform(0.02, 0.25)
                box = [
                    x + rng.normal(0, s * w),
                    y + rng.normal(0, s * h),
                    w * (1 + rng.normal(0, s)),
                    h * (1 + rng.normal(0, s)),
                ]
                box[2], box[3] = max(box[2], 1.0), max(box[3], 1.0)
                cls = ann_obj.class_id
                if kind != "keypoints" and rng.random() < 0.1:
                    cls = int(rng.integers(0, len(CLASSES)))
                det: dict[str, Any] = {
                    "class_id": cls,
                    "class_name": CLASSES[cls],
                    # one decimal: ties across images and within them
                    "confidence": round(float(rng.uniform(0.05, 1.0)), 1),
                    "bbox": tuple(box),
                }
                if kind == "segm":
                    base = ann_obj.polygons[0] if ann_obj.polygons else _polygon_in(rng, *box)
                    det["polygon"] = _jitter_polygon(rng, base, s * 10)
                if kind == "keypoints":
                    kp = np.asarray(ann_obj.keypoints, dtype=float).reshape(-1, 3)
                    kp[:, :2] += rng.normal(0, s * 20, (nk, 2))
                    kp[:, 2] = rng.uniform(0, 1, nk)
                    det["keypoints"] = [float(v) for v in kp.ravel()]
                dets.append(Instance(**det))
        for _ in range(int(rng.integers(0, 4))):  # false positives
            box = _random_box(rng, width, height)
            cls = 0 if kind == "keypoints" else int(rng.integers(0, len(CLASSES)))
            det = {
                "class_id": cls,
                "class_name": CLASSES[cls],
                "confidence": round(float(rng.uniform(0.05, 1.0)), 1),
                "bbox": tuple(box),
            }
            if kind == "segm":
                det["polygon"] = _polygon_in(rng, *box)
            if kind == "keypoints":
                det["keypoints"] = _keypoints_in(rng, box, nk)
            dets.append(Instance(**det))
        rng.shuffle(dets)  # type: ignore[arg-type]
        predictions.append(
            ImagePrediction(image_id=path, width=width, height=height, instances=dets)
        )
    return images, predictions


def _coco_gt(images: list[ImageEntry], kind: str) -> COCO:
    doc: dict[str, Any] = {"images": [], "annotations": [], "categories": []}
    doc["categories"] = [{"id": k + 1, "name": n} for k, n in enumerate(CLASSES)]
    for i, image in enumerate(images, start=1):
        doc["images"].append({"id": i, "width": image.width, "height": image.height})
        for a in image.annotations:
            ann: dict[str, Any] = {
                "id": len(doc["annotations"]) + 1,
                "image_id": i,
                "category_id": a.class_id + 1,
                "bbox": list(a.bbox),
                "area": a.bbox[2] * a.bbox[3],
                "iscrowd": int(a.iscrowd),
            }
            if a.polygons or a.rle:
                if a.polygons:
                    ann["segmentation"] = a.polygons
                else:
                    assert a.rle is not None
                    ann["segmentation"] = {"size": list(a.rle.size), "counts": a.rle.counts}
            if a.keypoints is not None:
                ann["keypoints"] = a.keypoints
                ann["num_keypoints"] = int(np.count_nonzero(np.asarray(a.keypoints)[2::3] > 0))
            doc["annotations"].append(ann)
    gt = COCO()
    gt.dataset = doc
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    for ann in doc["annotations"]:  # a mask's area, as COCO's datasets record it
        if "segmentation" in ann:
            ann["area"] = float(mask_utils.area(gt.annToRLE(ann)))
    return gt


def _coco_dt(images: list[ImageEntry], preds: list[ImagePrediction], kind: str) -> list[dict]:
    ids = {image.path: i for i, image in enumerate(images, start=1)}
    out = []
    for pred in preds:
        image = images[ids[pred.image_id] - 1]
        for d in pred.instances:
            det: dict[str, Any] = {
                "image_id": ids[pred.image_id],
                "category_id": d.class_id + 1,
                "score": d.confidence,
            }
            if kind == "segm":
                rles = mask_utils.frPyObjects([d.polygon], image.height, image.width)
                det["segmentation"] = mask_utils.merge(rles)
            elif kind == "keypoints":
                det["keypoints"] = d.keypoints
            else:
                det["bbox"] = list(d.bbox)
            out.append(det)
    return out


def _cocoeval(images: list[ImageEntry], preds: list[ImagePrediction], kind: str) -> np.ndarray:
    gt = _coco_gt(images, kind)
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(_coco_dt(images, preds, kind))
        ev = COCOeval(gt, dt, kind)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


def _assert_parity(report_metrics: dict[str, float], stats: np.ndarray, names, prefix=""):  # type: ignore[no-untyped-def]
    for index, name in names.items():
        ours = report_metrics[prefix + name]
        assert ours == pytest.approx(float(stats[index]), abs=1e-3), (name, ours, stats[index])


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_bbox_metrics_match_pycocotools(seed: int) -> None:
    images, preds = _scenario(seed, "bbox")
    report = detection_report(images, preds, CLASSES, "bbox")
    stats = _cocoeval(images, preds, "bbox")
    _assert_parity(report.metrics, stats, DET_STATS)
    assert report.primary_metric == "mAP50-95"
    assert report.primary_value == report.metrics["mAP50-95"]
    assert 0 < report.primary_value < 1  # the scenarios are neither perfect nor empty


@pytest.mark.parametrize("seed", [10, 11, 12])
def test_mask_metrics_match_pycocotools(seed: int) -> None:
    images, preds = _scenario(seed, "segm")
    masks = detection_report(images, preds, CLASSES, "segm")
    _assert_parity(masks.metrics, _cocoeval(images, preds, "segm"), DET_STATS, prefix="mask_")
    # Boxes of a segmentation set: COCO's areas are the masks' areas there too.
    boxes = detection_report(images, preds, CLASSES, "bbox")
    _assert_parity(boxes.metrics, _cocoeval(images, preds, "bbox"), DET_STATS)
    merged = merge_reports(boxes, masks)
    assert merged.primary_metric == "mask_mAP50-95"
    assert merged.metrics["mAP50-95"] == boxes.metrics["mAP50-95"]
    assert merged.metrics["mask_mAP50"] == masks.metrics["mask_mAP50"]
    assert "mask_AP50-95" in merged.per_class[0] and "AP50-95" in merged.per_class[0]


@pytest.mark.parametrize("seed", [20, 21])
def test_keypoint_metrics_match_pycocotools(seed: int) -> None:
    images, preds = _scenario(seed, "keypoints")
    report = detection_report(images, preds, CLASSES, "keypoints")
    _assert_parity(report.metrics, _cocoeval(images, preds, "keypoints"), KPT_STATS, "pose_")
    assert report.primary_metric == "pose_mAP50-95"


def _image(path: str, anns: list[Annotation]) -> ImageEntry:
    return ImageEntry(
        path=path, split="val", width=200, height=200, size=1, sha256="0" * 64, annotations=anns
    )


def _det(cls: int, box: tuple[float, float, float, float], conf: float) -> Instance:
    return Instance(class_id=cls, class_name=CLASSES[cls], confidence=conf, bbox=box)


def test_perfect_predictions_score_one_and_fill_the_report() -> None:
    images = [
        _image("a.jpg", [Annotation(class_id=0, bbox=(10, 10, 50, 80))]),
        _image("b.jpg", [Annotation(class_id=1, bbox=(100, 20, 60, 40))]),
    ]
    preds = [
        ImagePrediction(
            image_id="a.jpg", width=200, height=200, instances=[_det(0, (10, 10, 50, 80), 0.9)]
        ),
        ImagePrediction(
            image_id="b.jpg",
            width=200,
            height=200,
            instances=[_det(1, (100, 20, 60, 40), 0.8), _det(2, (0, 150, 20, 20), 0.5)],
        ),
    ]
    report = detection_report(images, preds, CLASSES, keep_images=True)
    assert report.metrics["mAP50-95"] == pytest.approx(1.0)
    assert report.metrics["mAP_small"] == -1  # no small ground truth: COCO's -1
    assert report.metrics["recall"] == 1.0
    assert report.metrics["precision"] == 1.0  # the false positive scores below the F1 cut
    assert report.metrics["confidence"] == pytest.approx(0.8)
    # rows truth, columns prediction, last background: the dog is a false positive
    assert report.confusion_matrix == [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0]]
    rows = {r["class_name"]: r for r in report.per_class}
    assert rows["person"]["AP50"] == pytest.approx(1.0) and rows["person"]["num_gt"] == 1
    assert rows["dog"]["AP50-95"] == -1 and rows["dog"]["num_gt"] == 0
    assert len(report.pr_curves["precision"]["car"]) == 101
    assert report.images is not None
    b = report.images[1]
    assert b["image_id"] == "b.jpg"
    assert b["metrics"] == {
        "tp": 1,
        "fp": 1,
        "fn": 0,
        "precision": 0.5,
        "recall": 1.0,
        "mean_iou": 1.0,
    }
    assert b["predictions"]["boxes"][0] == {
        "class_id": 1,
        "class_name": "car",
        "bbox": [100.0, 20.0, 60.0, 40.0],
        "confidence": 0.8,
    }
    assert b["ground_truth"]["boxes"] == [
        {"class_id": 1, "class_name": "car", "bbox": [100.0, 20.0, 60.0, 40.0]}
    ]


def test_a_prediction_for_an_unknown_image_is_refused() -> None:
    pred = ImagePrediction(image_id="nope.jpg", width=1, height=1)
    with pytest.raises(ValueError, match="not in the split"):
        detection_report([_image("a.jpg", [])], [pred], CLASSES)
