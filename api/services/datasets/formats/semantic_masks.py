"""Semantic masks (mmsegmentation's img_dir/ann_dir layout): `images/[split/]x.jpg`,
beside it `masks/[split/]x.png`, a single-channel 8-bit PNG whose pixel is the class id
(255: void, no class), and `classes.txt` naming class n on line n + 1.

Each mask goes into the manifest as COCO-Stuff stores semantic labels: one annotation
per class present in the image, its pixels as an uncompressed COCO RLE and its box the
region's bounding box; void pixels are covered by none (trainers/metrics/semantic.py).
"""

from __future__ import annotations

import io
import warnings
from pathlib import PurePosixPath
from typing import Any

import numpy as np
from PIL import Image

from api.services.datasets.formats.base import DraftImage, Parsed, Source, split_name
from api.services.datasets.images import ImageInfo, is_image_name
from api.services.datasets.problems import quote
from contract.manifest import Annotation, Rle

IMAGES = "images/"
MASKS = "masks/"
CLASSES_FILE = "classes.txt"
VOID = 255  # a mask pixel of no class: Pascal VOC's and ADE20K's void
MAX_CLASSES = VOID  # ids 0 to 254: 255 is void
MASK_MODES = ("L", "P")  # 8-bit grey, or 8-bit palette indices (Pascal VOC's masks)


def label_pictures(files: list[str]) -> set[str]:
    """The masks: files under masks/ that look like images but are labels, so that the
    ingest neither decodes them as dataset images nor makes their thumbnails."""
    return {f for f in files if f.startswith(MASKS) and is_image_name(f)}


def _key(path: str, folder: str) -> str:
    """images/train/a.jpg -> train/a: what pairs an image with its mask."""
    return str(PurePosixPath(path[len(folder) :]).with_suffix(""))


def _images(files: list[str]) -> list[str]:
    return [f for f in files if f.startswith(IMAGES) and is_image_name(f)]


def looks_like(files: list[str], read_text: Any) -> str | None:
    """Why this is an images/ + masks/ tree, or None. Needs images, mask PNGs and
    classes.txt; without classes.txt (a problem parse reports), images in split folders
    that have their masks: flat `images/` and `masks/` folders of same-named files are
    also an ImageFolder of two classes, and that is what they are taken for."""
    masks = label_pictures(files)
    images = _images(files)
    if not masks or not images:
        return None
    found = f"{len(masks)} masks under masks/ beside {len(images)} images under images/"
    if CLASSES_FILE in files:
        return f"{found} and classes.txt"
    keys = {_key(m, MASKS) for m in masks}
    in_splits = [
        key
        for key in (_key(i, IMAGES) for i in images)
        if key in keys and "/" in key and split_name(key.split("/")[0])
    ]
    return f"{found} in split folders (no classes.txt)" if in_splits else None


def _classes(src: Source) -> list[str]:
    """The class names of classes.txt (trailing blank lines dropped); [] with a problem
    when it is missing, empty, or names a class twice, none or more than 255 classes."""
    problems = src.problems
    if CLASSES_FILE not in src.files:
        problems.add(
            None, "classes.txt is missing: its lines name the classes, the first one class 0 "
            "(mask pixel value 0)",
            code="missing_classes",
        )  # fmt: skip
        return []
    try:
        text = src.read_text(CLASSES_FILE)  # type: ignore[operator]
    except ValueError as exc:
        problems.add(CLASSES_FILE, str(exc), code="bad_classes")
        return []
    names = [line.strip() for line in text.splitlines()]
    while names and not names[-1]:
        names.pop()
    if not names:
        problems.add(
            CLASSES_FILE,
            "is empty: its lines name the classes, the first one class 0",
            code="missing_classes",
        )
        return []
    blank = [n for n, name in enumerate(names, start=1) if not name]
    if blank:
        problems.add(CLASSES_FILE, "a line names no class", f"line {blank[0]}", code="bad_classes")
        return []
    seen: dict[str, int] = {}
    for n, name in enumerate(names, start=1):
        if name in seen:
            problems.add(
                CLASSES_FILE, f"class {quote(name)} is also on line {seen[name]}",
                f"line {n}", code="bad_classes",
            )  # fmt: skip
            return []
        seen[name] = n
    if len(names) > MAX_CLASSES:
        problems.add(
            CLASSES_FILE,
            f"names {len(names)} classes: an 8-bit mask holds at most {MAX_CLASSES} "
            f"(0 to {MAX_CLASSES - 1}; {VOID} is void)",
            code="bad_classes",
        )
        return []
    return names


def rle_runs(mask: np.ndarray) -> list[int]:
    """COCO's uncompressed RLE of a bool mask: run lengths in column-major order,
    alternating 0s and 1s, the first run of 0s (empty when the first pixel is set)."""
    flat = np.asarray(mask, bool).T.reshape(-1)
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.r_[0, changes, flat.size]).tolist()
    return [0, *runs] if flat[0] else runs


def annotations_of(mask: np.ndarray) -> list[Annotation]:
    """One annotation per class id in `mask` (void left out): its pixels' RLE, and
    their bounding box as [x, y, width, height]."""
    out = []
    height, width = mask.shape
    for class_id in np.unique(mask).tolist():
        if class_id == VOID:
            continue
        region = mask == class_id
        cols = np.flatnonzero(region.any(axis=0))
        rows = np.flatnonzero(region.any(axis=1))
        x, y = int(cols[0]), int(rows[0])
        bbox = (float(x), float(y), float(cols[-1] + 1 - x), float(rows[-1] + 1 - y))
        rle = Rle(size=(height, width), counts=rle_runs(region))
        out.append(Annotation(class_id=class_id, bbox=bbox, rle=rle))
    return out


def _read_mask(src: Source, mask: str, info: ImageInfo, image: str) -> np.ndarray | None:
    """The mask's class ids as a (height, width) uint8 array; None with a problem when it
    is not a single-channel 8-bit PNG the size of its image, or cannot be decoded."""
    problems = src.problems
    try:
        data = src.read_bytes(mask)  # type: ignore[operator]
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as picture:
                if picture.format != "PNG":
                    problems.add(
                        mask, f"is a {picture.format} file: a mask must be a PNG (lossy "
                        "compression changes class ids)", code="bad_mask",
                    )  # fmt: skip
                    return None
                if picture.mode not in MASK_MODES:
                    problems.add(
                        mask, f"has mode {picture.mode}: a mask is one 8-bit channel "
                        "(mode L or P) of class ids", code="bad_mask",
                    )  # fmt: skip
                    return None
                if picture.size != (info.width, info.height):
                    w, h = picture.size
                    problems.add(
                        mask, f"is {w}x{h} but its image {image} is {info.width}x{info.height}",
                        code="size_mismatch",
                    )  # fmt: skip
                    return None
                # A palette image's array is its indices: the class ids, not the colours.
                return np.asarray(picture, dtype=np.uint8)
    except Exception as exc:
        # Pillow reports truncation as OSError and malformed bytes as what it likes.
        problems.add(mask, f"cannot be read as a PNG: {type(exc).__name__}: {exc}", code="bad_mask")
        return None


def parse(src: Source) -> Parsed:
    problems = src.problems
    classes = _classes(src)
    masks: dict[str, str] = {}
    for m in sorted(label_pictures(src.files)):
        masks.setdefault(_key(m, MASKS), m)  # a.png sorts before a.tif: the PNG is taken
    paired: dict[str, str] = {}  # key -> its image
    drafts = []
    for image in _images(src.files):
        key = _key(image, IMAGES)
        mask = masks.get(key)
        if mask is None:
            problems.add(
                image, f"has no mask: expected {MASKS}{key}.png", code="missing_mask"
            )  # fmt: skip
            continue
        if key in paired:
            problems.add(
                image, f"shares its mask {mask} with {paired[key]}", code="duplicate_image"
            )  # fmt: skip
            continue
        paired[key] = image
        info = src.images.get(image)
        if info is None or not classes:  # undecodable (already a problem), or no classes
            continue
        values = _read_mask(src, mask, info, image)
        if values is None:
            continue
        unknown = sorted(set(np.unique(values).tolist()) - set(range(len(classes))) - {VOID})
        if unknown:
            problems.add(
                mask,
                f"holds class id{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(str, unknown[:5]))}{', …' if len(unknown) > 5 else ''} but "
                f"classes.txt names {len(classes)} classes (ids 0 to {len(classes) - 1}; {VOID} "
                "is void)",
                code="unknown_class",
            )
            continue
        parts = key.split("/")
        split = split_name(parts[0]) if len(parts) > 1 else None
        drafts.append(DraftImage(path=image, split=split, annotations=annotations_of(values)))
    for key, mask in sorted(masks.items()):
        if key not in paired:
            problems.add(
                mask, f"has no image: expected {IMAGES}{key}.jpg or .png", code="orphan_mask"
            )  # fmt: skip
    chosen = set(masks.values())
    for f in src.files:
        if f == CLASSES_FILE or f in chosen or (f.startswith(IMAGES) and is_image_name(f)):
            continue
        if f.startswith(MASKS) and is_image_name(f):
            key = _key(f, MASKS)
            problems.add(f, f"a second mask of {key} beside {masks[key]}", code="duplicate_mask")
            continue
        problems.add(
            f, "neither an image under images/, a mask under masks/ nor classes.txt",
            code="non_image_file",
        )  # fmt: skip
    return Parsed(
        task_type="semantic_segmentation",
        classes=classes,
        images=drafts,
        used_files={CLASSES_FILE, *chosen},
    )
