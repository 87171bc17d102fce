"""From the normalized manifest to the folder layout each framework reads.

- ImageFolder (`split/class/image`) for timm, transformers and Ultralytics classification.
- YOLO (`images/split`, `labels/split`, `data.yaml`) for Ultralytics detection,
  segmentation and pose.

Every framework sees the same images, splits and labels, so the same dataset trains
the same everywhere. Images are hard-linked where the filesystem allows (no copies).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath

from contract.manifest import Annotation, ImageEntry, Manifest


def _place(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:  # another filesystem, or links not allowed
        shutil.copyfile(src, dest)


def flat_name(path: str) -> str:
    """A file name unique within its split: the manifest path with folders joined by `__`."""
    return path.replace("/", "__")


def to_imagefolder(manifest: Manifest, files: Path, out: Path) -> dict[str, Path]:
    """Write `out/<split>/<class>/<image>`; return the folder of each split present."""
    if manifest.task_type != "image_classification":
        raise ValueError(f"ImageFolder holds classification data, not {manifest.task_type}")
    roots: dict[str, Path] = {}
    for image in manifest.images:
        if image.label is None:
            raise ValueError(f"{image.path} has no class label")
        split_root = roots.setdefault(image.split, out / image.split)
        _place(
            files / image.path, split_root / manifest.classes[image.label] / flat_name(image.path)
        )
    # Ultralytics and torchvision want every class folder in every split, even empty.
    for split_root in roots.values():
        for name in manifest.classes:
            (split_root / name).mkdir(parents=True, exist_ok=True)
    return roots


def _clip(v: float) -> float:
    return min(1.0, max(0.0, v))


def _box_row(ann: Annotation, image: ImageEntry) -> list[float]:
    x, y, w, h = ann.bbox
    return [
        _clip((x + w / 2) / image.width),
        _clip((y + h / 2) / image.height),
        _clip(w / image.width),
        _clip(h / image.height),
    ]


def _polygon(ann: Annotation, image: ImageEntry) -> list[float] | None:
    """The instance's outline (the longest polygon, or the RLE mask's outer contour), normalized."""
    points: list[float] | None = None
    if ann.polygons:
        points = max(ann.polygons, key=len)
    elif ann.rle is not None:
        import cv2
        import numpy as np
        from pycocotools import mask as mask_utils

        counts = ann.rle.counts
        rle = (
            {"size": list(ann.rle.size), "counts": counts.encode()}
            if isinstance(counts, str)
            else mask_utils.frPyObjects(
                {"size": list(ann.rle.size), "counts": counts}, *ann.rle.size
            )
        )
        mask = np.ascontiguousarray(mask_utils.decode(rle))
        contours = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]
        if contours:
            points = [float(v) for v in max(contours, key=len).reshape(-1)]
    if not points or len(points) < 6:
        return None
    return [_clip(v / (image.width if i % 2 == 0 else image.height)) for i, v in enumerate(points)]


def _rows(manifest: Manifest, image: ImageEntry) -> list[str]:
    rows = []
    for ann in image.annotations:
        if ann.iscrowd:
            continue  # crowd regions are ignored in training, as COCO's own tools do
        values = _box_row(ann, image)
        if manifest.task_type == "instance_segmentation":
            polygon = _polygon(ann, image)
            if polygon is None:  # no outline: the box as a rectangle
                cx, cy, w, h = values
                polygon = [
                    cx - w / 2,
                    cy - h / 2,
                    cx + w / 2,
                    cy - h / 2,
                    cx + w / 2,
                    cy + h / 2,
                    cx - w / 2,
                    cy + h / 2,
                ]
            values = polygon
        elif manifest.task_type == "pose_estimation" and ann.keypoints is not None:
            kp = ann.keypoints
            for i in range(0, len(kp), 3):
                values += [_clip(kp[i] / image.width), _clip(kp[i + 1] / image.height), kp[i + 2]]
        rows.append(" ".join([str(ann.class_id), *(f"{v:.6g}" for v in values)]))
    return rows


def to_yolo(manifest: Manifest, files: Path, out: Path) -> Path:
    """Write the YOLO tree and its data.yaml under `out`; return the data.yaml path."""
    if manifest.task_type not in ("object_detection", "instance_segmentation", "pose_estimation"):
        raise ValueError(f"YOLO labels hold boxes, masks or keypoints, not {manifest.task_type}")
    splits = sorted({i.split for i in manifest.images})
    for image in manifest.images:
        name = flat_name(image.path)
        _place(files / image.path, out / "images" / image.split / name)
        label = out / "labels" / image.split / PurePosixPath(name).with_suffix(".txt").name
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text("".join(row + "\n" for row in _rows(manifest, image)))
    lines = [f"path: {out.resolve()}"]
    lines += [f"{s}: images/{s}" for s in splits]
    if "val" not in splits:  # Ultralytics requires a val entry
        lines.append("val: images/train")
    lines.append("names:")
    lines += [f"  {i}: {_yaml_str(n)}" for i, n in enumerate(manifest.classes)]
    if manifest.task_type == "pose_estimation" and manifest.keypoints is not None:
        lines.append(f"kpt_shape: [{manifest.keypoints.num}, 3]")
        flip = manifest.keypoints.flip_idx or list(range(manifest.keypoints.num))
        lines.append(f"flip_idx: {flip}")
    data_yaml = out / "data.yaml"
    data_yaml.write_text("\n".join(lines) + "\n")
    return data_yaml


def _yaml_str(s: str) -> str:
    import json

    return json.dumps(s)  # a JSON string is a valid YAML scalar, whatever it holds
