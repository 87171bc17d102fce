"""YOLO (Ultralytics): data.yaml with class names and split folders, one label .txt
per image with normalized rows: boxes `c cx cy w h`, polygons `c x1 y1 ... xn yn`,
or pose `c cx cy w h` followed by `kpt_shape` keypoint values.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import PurePosixPath
from typing import Any

from api.services.datasets.documents import DocumentError, load_yaml
from api.services.datasets.formats.base import (
    DraftImage,
    Parsed,
    Source,
    bbox_of_points,
    box_problem,
    split_name,
)
from api.services.datasets.images import is_image_name
from api.services.datasets.problems import Problems, quote
from api.services.datasets.upload_paths import MAX_DEPTH
from contract.manifest import Annotation, KeypointSpec

_TOLERANCE = 1e-3  # normalized coordinates a hair outside [0, 1] are rounding, not errors
MAX_KEYPOINTS = 1000  # per instance: COCO-WholeBody, among the largest, has 133


def _yaml_files(files: list[str]) -> list[str]:
    yamls = [f for f in files if f.endswith((".yaml", ".yml"))]
    # data.yaml first, then the shallowest
    return sorted(
        yamls,
        key=lambda f: (PurePosixPath(f).name not in ("data.yaml", "data.yml"), f.count("/"), f),
    )


def looks_like(files: list[str], read_text: Any) -> str | None:
    yamls = _yaml_files(files)
    has_labels = any("/labels/" in f"/{f}" and f.endswith(".txt") for f in files)
    if yamls and has_labels:
        return f"{yamls[0]} with label .txt files under labels/"
    if yamls and any(PurePosixPath(f).name in ("data.yaml", "data.yml") for f in yamls):
        return f"{yamls[0]} (no label files: every image is background)"
    return None


def _label_path(image: str) -> str:
    """images/train/a.jpg -> labels/train/a.txt (the last `images` segment), as Ultralytics does."""
    parts = image.split("/")
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return str(PurePosixPath(*parts).with_suffix(".txt"))


def _names(data: dict[str, Any]) -> list[str] | None:
    names = data.get("names")
    if isinstance(names, list) and all(isinstance(n, str | int) for n in names):
        return [str(n) for n in names]
    if isinstance(names, dict) and all(isinstance(n, str | int) for n in names.values()):
        try:
            ids = sorted(int(k) for k in names)
        except (TypeError, ValueError):
            return None
        if ids == list(range(len(ids))):
            return [str(names[k] if k in names else names[str(k)]) for k in ids]
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _keypoints(
    data: dict[str, Any], yaml_file: str | None, problems: Problems
) -> tuple[KeypointSpec | None, int]:
    """(spec, values per keypoint) from `kpt_shape` and `flip_idx`; (None, 0) with a
    problem when they are not [a few keypoints, 2 or 3] and a permutation of them."""
    shape = data.get("kpt_shape")
    if shape is None:
        return None, 0
    if not (
        isinstance(shape, list)
        and len(shape) == 2
        and all(_is_int(v) for v in shape)
        and 1 <= shape[0] <= MAX_KEYPOINTS
        and shape[1] in (2, 3)
    ):
        problems.add(
            yaml_file,
            f"`kpt_shape` must be [number of keypoints (1 to {MAX_KEYPOINTS}), 2 or 3], "
            f"not {quote(shape)}",
            code="bad_yaml",
        )
        return None, 0
    num, dims = shape
    flip = data.get("flip_idx")
    if flip is not None and not (
        isinstance(flip, list)
        and len(flip) == num
        and all(_is_int(i) and 0 <= i < num for i in flip)
    ):
        problems.add(
            yaml_file,
            f"`flip_idx` must list {num} keypoint indices (0 to {num - 1}), not {quote(flip)}",
            code="bad_yaml",
        )
        return None, 0
    return KeypointSpec(num=num, flip_idx=flip), dims


class _Folders:
    """The images under each folder of the upload, found once for all split entries."""

    def __init__(self, files: list[str]) -> None:
        self.images: dict[str, list[str]] = defaultdict(list)
        for f in files:
            if is_image_name(f):
                parts = f.split("/")
                for i in range(1, len(parts)):
                    self.images["/".join(parts[:i])].append(f)


def _resolve(entry: str, base: str, files: set[str], dirs: set[str]) -> str | None:
    """A split entry of data.yaml as a folder or list file inside the upload.

    Relative entries are relative to the yaml's folder; absolute ones (written on
    another machine) match by their longest tail that exists here.
    """
    entry = entry.replace("\\", "/").rstrip("/")
    candidates = []
    if not entry.startswith("/"):
        candidates.append(str(PurePosixPath(base, entry)) if base else entry)
    # No path of the upload is deeper than MAX_DEPTH: only the tails up to that can match
    # (and a long entry costs a bounded number of tries).
    parts = [p for p in entry.split("/") if p not in ("", ".")][-MAX_DEPTH:]
    candidates += ["/".join(parts[i:]) for i in range(len(parts))]
    for c in candidates:
        c = c.lstrip("./") if c.startswith("./") else c
        if c in dirs or c in files:
            return c
    return None


def parse(src: Source) -> Parsed:
    problems = src.problems
    files = set(src.files)
    used: set[str] = set()
    yaml_file, data, yaml_read = _data_yaml(src, used)
    names = _names(data) or []
    if yaml_read and not names:
        problems.add(
            yaml_file, "`names` must be a list of class names or a {0: name} map", code="bad_yaml"
        )
    kpt, kpt_dims = _keypoints(data, yaml_file, problems)
    image_split = _image_splits(src, data, yaml_file, used)

    images: list[DraftImage] = []
    saw_polygons = False
    for img, split in sorted(image_split.items(), key=lambda kv: kv[0]):
        info = src.images.get(img)
        if info is None:
            continue  # undecodable: already a problem
        draft = DraftImage(path=img, split=split)
        label = _label_path(img)
        if label in files:
            used.add(label)
            for lineno, line in enumerate(src.read_text(label).splitlines(), start=1):  # type: ignore[operator]
                if not line.strip():
                    continue
                ann, why, polygon = _parse_row(line, len(names), kpt, kpt_dims, info)
                if why:
                    problems.add(label, why, f"line {lineno}", code="bad_label")
                elif ann is not None:
                    saw_polygons |= polygon
                    draft.annotations.append(ann)
        images.append(draft)

    _unused_files(src, used, {_label_path(img) for img in image_split})
    task = (
        "pose_estimation"
        if kpt
        else ("instance_segmentation" if saw_polygons else "object_detection")
    )
    return Parsed(task_type=task, classes=names, images=images, keypoints=kpt, used_files=used)


def _data_yaml(src: Source, used: set[str]) -> tuple[str | None, dict[str, Any], bool]:
    """(the data.yaml's path, what it holds, whether it could be read)."""
    yaml_files = _yaml_files(src.files)
    if not yaml_files:
        src.problems.add(
            None, "no data.yaml: YOLO datasets name their classes there", code="no_data_yaml"
        )
        return None, {}, False
    yaml_file = yaml_files[0]
    used.add(yaml_file)
    try:
        loaded = load_yaml(src.read_text(yaml_file))  # type: ignore[operator]
    except DocumentError as exc:
        src.problems.add(yaml_file, str(exc), code="bad_yaml")
        return yaml_file, {}, False
    return yaml_file, loaded if isinstance(loaded, dict) else {}, True


def _image_splits(
    src: Source, data: dict[str, Any], yaml_file: str | None, used: set[str]
) -> dict[str, str | None]:
    """Which images belong to which split, from the yaml; else from images/<split>/
    folders. Lists of image paths the yaml names are added to `used`."""
    problems, files = src.problems, set(src.files)
    dirs = {str(p) for f in src.files for p in PurePosixPath(f).parents if str(p) != "."}
    base = str(PurePosixPath(yaml_file).parent) if yaml_file else ""
    base = "" if base == "." else base
    image_split: dict[str, str | None] = {}
    folders = None
    for key in ("train", "val", "test"):
        entries = data.get(key)
        if entries is None:
            continue
        seen: set[str] = set()
        for entry in entries if isinstance(entries, list) else [entries]:
            if isinstance(entry, bool) or not isinstance(entry, str | int | float):
                problems.add(
                    yaml_file, f"`{key}` names {quote(entry)}, not a path", code="missing_split"
                )
                continue
            if str(entry) in seen:
                continue
            seen.add(str(entry))
            found = _resolve(str(entry), base, files, dirs)
            if found is None:
                problems.add(
                    yaml_file,
                    f"`{key}: {quote(str(entry))}` names no folder or list in the upload",
                    code="missing_split",
                )
            elif found in files:  # a .txt list of image paths
                used.add(found)
                for line in src.read_text(found).splitlines():  # type: ignore[operator]
                    path = _resolve(line.strip(), base, files, dirs) if line.strip() else None
                    if path:
                        image_split[path] = key
            else:
                folders = folders or _Folders(src.files)
                for f in folders.images.get(found, []):
                    image_split[f] = key
    if not image_split:
        for f in src.files:
            if is_image_name(f):
                parts = f.split("/")
                image_split[f] = split_name(parts[-2] if len(parts) >= 2 else "")
    return image_split


def _unused_files(src: Source, used: set[str], labels: set[str]) -> None:
    """Say what each file the dataset does not use is, unless it is harmless."""
    for f in src.files:
        if f in used or is_image_name(f):
            continue
        if f.endswith(".txt") and "/labels/" in f"/{f}" and f not in labels:
            src.problems.add(
                f, "label file for an image that is not in the dataset", code="orphan_label"
            )
        elif f.endswith((".cache", ".yaml", ".yml")) or PurePosixPath(f).name.lower().startswith(
            ("readme", "license")
        ):
            continue  # Ultralytics' label caches, other configs, documentation
        else:
            src.problems.add(f, "neither an image nor a YOLO label file", code="non_image_file")


def _parse_row(
    line: str, num_classes: int, kpt: KeypointSpec | None, kpt_dims: int, info: Any
) -> tuple[Annotation | None, str | None, bool]:
    """(annotation, problem, is_polygon) for one label row."""
    fields = line.split()
    try:
        cls = int(fields[0])
        values = [float(v) for v in fields[1:]]
    except ValueError:
        return None, f"not numbers: {quote(line.strip())}", False
    if not all(math.isfinite(v) for v in values):
        return None, "coordinates must be finite numbers (not nan or inf)", False
    if not 0 <= cls < num_classes:
        return None, f"class id {cls} is not among the {num_classes} classes of data.yaml", False
    w_img, h_img = info.width, info.height
    if kpt is not None:
        expected = 4 + kpt.num * kpt_dims
        if len(values) != expected:
            return (
                None,
                f"pose row needs {expected + 1} values (class, box, {kpt.num}x{kpt_dims} "
                f"keypoints), has {len(values) + 1}",
                False,
            )
    elif len(values) != 4 and (len(values) < 6 or len(values) % 2):
        return (
            None,
            f"row has {len(values) + 1} values: a box has 5, a polygon 1 + an even number >= 6",
            False,
        )
    if any(v < -_TOLERANCE or v > 1 + _TOLERANCE for v in (values[:4] if kpt else values)):
        return (
            None,
            "coordinates must be normalized to [0, 1]: this one lies outside the image",
            False,
        )
    if kpt is not None or len(values) == 4:
        cx, cy, w, h = values[:4]
        bbox = ((cx - w / 2) * w_img, (cy - h / 2) * h_img, w * w_img, h * h_img)
        why = box_problem(bbox, info)
        if why:
            return None, why, False
        keypoints = None
        if kpt is not None:
            keypoints = []
            raw = values[4:]
            for k in range(kpt.num):
                x, y = raw[k * kpt_dims], raw[k * kpt_dims + 1]
                v = raw[k * kpt_dims + 2] if kpt_dims == 3 else 2.0
                keypoints += [x * w_img, y * h_img, v]
        return Annotation(class_id=cls, bbox=bbox, keypoints=keypoints), None, False
    xs = [v * w_img for v in values[0::2]]
    ys = [v * h_img for v in values[1::2]]
    polygon = [c for xy in zip(xs, ys, strict=True) for c in xy]
    bbox = bbox_of_points(xs, ys)
    why = box_problem(bbox, info)
    if why:
        return None, "polygon " + why.removeprefix("box "), True
    return Annotation(class_id=cls, bbox=bbox, polygons=[polygon]), None, True
