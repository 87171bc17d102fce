"""What every format parser returns, and the helpers they share."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from api.services.datasets.images import ImageInfo
from api.services.datasets.problems import Problems, quote
from contract.manifest import Annotation, KeypointSpec

SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}


def split_name(name: str) -> str | None:
    """The split a folder or file name stands for ("valid" -> "val"), if any."""
    return SPLIT_ALIASES.get(name.lower())


def split_in_name(name: str) -> str | None:
    """The split named inside a file name such as `instances_val2017.json`."""
    stem = PurePosixPath(name).stem.lower()
    for token in stem.replace("-", "_").split("_"):
        token = token.rstrip("0123456789")
        if split_name(token):
            return split_name(token)
    return None


@dataclass
class DraftImage:
    """An image as the format describes it; its split may be left to the split policy."""

    path: str
    split: str | None
    label: int | None = None
    annotations: list[Annotation] = field(default_factory=list)


@dataclass
class Parsed:
    task_type: str
    classes: list[str]
    images: list[DraftImage]
    keypoints: KeypointSpec | None = None
    # Files the format read besides images (labels, data.yaml, instances JSON, XML).
    used_files: set[str] = field(default_factory=set)


@dataclass
class Source:
    """An unpacked upload: its files (relative to root) and its decoded images."""

    files: list[str]
    images: dict[str, ImageInfo]
    problems: Problems
    declared_task: str | None
    read_text: object  # Callable[[str], str]: a file's text, by relative path
    # Callable[[str], bytes]: a file's bytes, by relative path (a semantic mask's pixels)
    read_bytes: object = None


MAX_CLASS_NAME = 255  # characters: as long as a folder name (ImageFolder's class names)


def check_class_names(classes: list[str], problems: Problems) -> None:
    """A problem for each class name longer than MAX_CLASS_NAME: the names are part of
    every answer about the dataset."""
    for name in classes:
        if len(name) > MAX_CLASS_NAME:
            problems.add(
                None,
                f"class name {quote(name)} is longer than {MAX_CLASS_NAME} characters",
                code="bad_class_name",
            )


def box_problem(
    bbox: tuple[float, float, float, float], info: ImageInfo, tolerance: float = 1.0
) -> str | None:
    """Why a [x, y, w, h] box does not lie inside its image, or None when it does."""
    if not all(math.isfinite(v) for v in bbox):
        return "box has a coordinate that is not a finite number"
    x, y, w, h = bbox
    if w <= 0 or h <= 0:
        return f"box has no area (width {w:g}, height {h:g})"
    if (
        x < -tolerance
        or y < -tolerance
        or x + w > info.width + tolerance
        or y + h > info.height + tolerance
    ):
        return f"box [{x:g}, {y:g}, {w:g}, {h:g}] lies outside the {info.width}x{info.height} image"
    return None


def bbox_of_points(xs: list[float], ys: list[float]) -> tuple[float, float, float, float]:
    x0, y0 = min(xs), min(ys)
    return (x0, y0, max(xs) - x0, max(ys) - y0)
