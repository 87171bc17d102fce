"""Ultralytics checkpoints: what ours hold, how to load them, and predictions and reports
from them in our shapes (contract/predictions.py, trainers/metrics).

Our checkpoint is Ultralytics' own `last.pt` (model, EMA, optimizer, epoch, its train
arguments) with one more key, "vap": the model name, task, class names, image size,
our 1-based epoch and our early-stopping state. Ultralytics loads it as its own, so
`YOLO(checkpoint)` predicts and `train(resume=...)` resumes from the very same file.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from contract.manifest import ImageEntry, Manifest
from contract.predictions import ClassScore, ImagePrediction, Instance
from trainers.base import EvalReport

META_KEY = "vap"
EVAL_CONFIDENCE = 0.001  # mAP needs the low-confidence tail, as Ultralytics' own val uses
NMS_IOU = 0.7  # Ultralytics' validation default
MAX_DETECTIONS = 300
PREDICT_BATCH = 8


def load_checkpoint(path: Path) -> dict[str, Any]:
    import torch

    return torch.load(path, map_location="cpu", weights_only=False)  # type: ignore[no-any-return]


def read_meta(path: Path) -> dict[str, Any]:
    """Our metadata of a checkpoint; ValueError when the file is not one of ours."""
    ckpt = load_checkpoint(path)
    meta = ckpt.get(META_KEY) if isinstance(ckpt, dict) else None
    if not meta:
        raise ValueError(f"{path} is not an Ultralytics checkpoint written by this platform")
    return dict(meta)


def write_checkpoint(ultralytics_last: Path, out: Path, meta: dict[str, Any]) -> Path:
    """Our checkpoint: Ultralytics' `last.pt` plus `meta`, written atomically to `out`."""
    import torch

    ckpt = load_checkpoint(ultralytics_last)
    ckpt[META_KEY] = meta
    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(ckpt, buffer)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(out)
    return out


def load_model(path: Path, task_type: str):  # type: ignore[no-untyped-def]
    """The YOLO model of a checkpoint (ours, or Ultralytics' own last.pt), whatever the
    file is called: Ultralytics decides what a file holds by its suffix and wants `.pt`."""
    from ultralytics import YOLO

    from trainers.ultralytics_args import TASKS

    if path.suffix != ".pt":
        named = path.with_name(path.name + ".pt")
        if not named.exists():
            try:
                os.link(path, named)
            except OSError:
                shutil.copyfile(path, named)
        path = named
    return YOLO(str(path), task=TASKS[task_type])


def _class_order(model, class_names: list[str], task_type: str) -> list[int]:  # type: ignore[no-untyped-def]
    """Our class id of each model output. Ultralytics reads classification classes from
    folder names in sorted order; the YOLO labels of the other tasks carry our ids."""
    names = model.names
    if task_type != "image_classification":
        return list(range(len(names)))
    return [class_names.index(names[i]) for i in range(len(names))]


def _results(  # type: ignore[no-untyped-def]
    model, paths: list[Path], meta: dict[str, Any], confidence: float, device: str
) -> Iterator[Any]:
    for start in range(0, len(paths), PREDICT_BATCH):
        chunk = [str(p) for p in paths[start : start + PREDICT_BATCH]]
        yield from model.predict(
            source=chunk,
            conf=confidence,
            iou=NMS_IOU,
            imgsz=meta["image_size"],
            max_det=MAX_DETECTIONS,
            device="0" if device == "cuda" else "cpu",
            verbose=False,
            stream=True,
        )


def _instances(result, order: list[int], class_names: list[str]) -> list[Instance]:  # type: ignore[no-untyped-def]
    boxes = result.boxes
    if boxes is None or len(boxes) == 0:
        return []
    xyxy = boxes.xyxy.cpu().numpy().astype(np.float64)
    h, w = result.orig_shape
    xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
    xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
    conf = boxes.conf.cpu().numpy()
    cls = boxes.cls.cpu().numpy().astype(int)
    polygons = result.masks.xy if result.masks is not None else None
    keypoints = result.keypoints.data.cpu().numpy() if result.keypoints is not None else None
    out = []
    for i in range(len(xyxy)):
        x0, y0, x1, y1 = (float(v) for v in xyxy[i])
        class_id = order[cls[i]]
        polygon = None
        if polygons is not None and len(polygons[i]) >= 3:
            polygon = [float(v) for v in np.asarray(polygons[i]).reshape(-1)]
        kpts = None
        if keypoints is not None:
            kpts = [float(v) for v in keypoints[i].reshape(-1)]
        out.append(
            Instance(
                class_id=class_id,
                class_name=class_names[class_id],
                confidence=float(conf[i]),
                bbox=(x0, y0, x1 - x0, y1 - y0),
                polygon=polygon,
                keypoints=kpts,
            )
        )
    return out


def predict_images(  # type: ignore[no-untyped-def]
    model,
    paths: list[Path],
    image_ids: list[str],
    meta: dict[str, Any],
    confidence: float,
    device: str = "cpu",
    top_k: int = 5,
) -> tuple[list[ImagePrediction], np.ndarray | None]:
    """Predictions of `model` for the images at `paths`, boxes in absolute pixels of each
    image; for classification also the (N, C) probabilities in our class order."""
    class_names: list[str] = meta["class_names"]
    task_type: str = meta["task_type"]
    order = _class_order(model, class_names, task_type)
    predictions: list[ImagePrediction] = []
    probabilities = []
    for image_id, result in zip(
        image_ids, _results(model, paths, meta, confidence, device), strict=True
    ):
        h, w = result.orig_shape
        pred = ImagePrediction(image_id=image_id, width=int(w), height=int(h))
        if task_type == "image_classification":
            p = np.zeros(len(class_names))
            p[order] = result.probs.data.float().cpu().numpy()
            probabilities.append(p)
            best = np.argsort(-p, kind="stable")[:top_k]
            pred.classes = [
                ClassScore(class_id=int(k), class_name=class_names[k], confidence=float(p[k]))
                for k in best
            ]
        else:
            pred.instances = _instances(result, order, class_names)
        predictions.append(pred)
    return predictions, (np.stack(probabilities) if probabilities else None)


def evaluate_images(  # type: ignore[no-untyped-def]
    model,
    meta: dict[str, Any],
    images: list[ImageEntry],
    data_dir: Path,
    device: str = "cpu",
    keep_images: bool = False,
) -> EvalReport:
    """Our metrics of `model` on labelled images: COCO mAP (boxes; and masks for
    segmentation, keypoint OKS for pose, merged into one report) or the classification
    report."""
    from trainers.metrics.detection import detection_report, merge_reports

    class_names: list[str] = meta["class_names"]
    task_type: str = meta["task_type"]
    paths = [data_dir / i.path for i in images]
    ids = [i.path for i in images]
    if task_type == "image_classification":
        from trainers.metrics.classification import classification_report

        _, probs = predict_images(model, paths, ids, meta, 0.0, device, len(class_names))
        labels = [int(i.label) for i in images]  # type: ignore[arg-type]
        return classification_report(
            labels,
            probs if probs is not None else np.zeros((0, len(class_names))),
            class_names,
            image_ids=ids,
            keep_images=keep_images,
        )
    preds, _ = predict_images(model, paths, ids, meta, EVAL_CONFIDENCE, device)
    boxes = detection_report(images, preds, class_names, "bbox", keep_images)
    if task_type == "instance_segmentation":
        return merge_reports(boxes, detection_report(images, preds, class_names, "segm"))
    if task_type == "pose_estimation":
        return merge_reports(boxes, detection_report(images, preds, class_names, "keypoints"))
    return boxes


def evaluate_checkpoint(
    checkpoint: Path,
    manifest: Manifest,
    data_dir: Path,
    split: str,
    device: str = "cpu",
    keep_images: bool = False,
) -> EvalReport:
    """`evaluate_images` for a checkpoint and a split of a manifest."""
    meta = read_meta(checkpoint)
    images = [i for i in manifest.images if i.split == split]
    if not images:
        raise ValueError(f"the dataset has no {split} images")
    model = load_model(checkpoint, meta["task_type"])
    return evaluate_images(model, meta, images, data_dir, device, keep_images)
