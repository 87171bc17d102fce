"""Dataset statistics: images per split, per-class image and instance counts, sizes."""

from __future__ import annotations

import statistics
from typing import Any

from contract.manifest import Manifest


def compute(manifest: Manifest) -> dict[str, Any]:
    n_classes = len(manifest.classes)
    images_with = [0] * n_classes
    instances = [0] * n_classes
    per_split: dict[str, dict[str, int]] = {}
    unlabeled = 0
    for image in manifest.images:
        split = per_split.setdefault(image.split, {"images": 0, "instances": 0})
        split["images"] += 1
        if image.label is not None:
            images_with[image.label] += 1
            instances[image.label] += 1
            continue
        if not image.annotations:
            unlabeled += 1
        split["instances"] += len(image.annotations)
        for class_id in {a.class_id for a in image.annotations}:
            images_with[class_id] += 1
        for a in image.annotations:
            instances[a.class_id] += 1
    widths = [i.width for i in manifest.images] or [0]
    heights = [i.height for i in manifest.images] or [0]
    return {
        "num_images": len(manifest.images),
        "images_per_split": {s: v["images"] for s, v in sorted(per_split.items())},
        "instances_per_split": {s: v["instances"] for s, v in sorted(per_split.items())},
        "classes": [
            {"id": i, "name": name, "images": images_with[i], "instances": instances[i]}
            for i, name in enumerate(manifest.classes)
        ],
        "num_instances": sum(instances),
        "images_without_annotations": unlabeled,
        "image_size": {
            "width": {"min": min(widths), "max": max(widths), "median": statistics.median(widths)},
            "height": {
                "min": min(heights),
                "max": max(heights),
                "median": statistics.median(heights),
            },
        },
        "total_bytes": sum(i.size for i in manifest.images),
    }
