"""COCO: instances JSON files (images, annotations, categories) beside the images.

Boxes are [x, y, w, h] in pixels; segmentation is polygons or an RLE mask; keypoints
are x, y, v triplets. The split comes from the JSON's name (instances_val2017.json).
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import PurePosixPath
from typing import Any

from api.services.datasets.documents import DocumentError, load_json
from api.services.datasets.formats.base import (
    DraftImage,
    Parsed,
    Source,
    box_problem,
    split_in_name,
    split_name,
)
from api.services.datasets.images import is_image_name
from api.services.datasets.problems import quote
from contract.manifest import Annotation, KeypointSpec, Rle

_REQUIRED = ("images", "annotations", "categories")
# The longest run an RLE string may encode in one number: 13 characters of 5 bits
# (65 bits) is past any image's pixel count; longer would only cost quadratic time.
_MAX_RLE_DIGITS = 13


def _is_id(value: Any) -> bool:
    """An id COCO can use: an integer or a string (never a list or an object, which
    cannot be looked up, nor a bool)."""
    return isinstance(value, int | str) and not isinstance(value, bool)


def _numbers(value: Any) -> list[float] | None:
    """`value` as floats when it is a list of finite numbers, else None."""
    if not isinstance(value, list):
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return None
    try:
        floats = [float(v) for v in value]
    except OverflowError:  # an integer too large for a float
        return None
    return floats if all(math.isfinite(v) for v in floats) else None


def _could_be_annotations(path: str) -> bool:
    lowered = path.lower()
    return any(word in lowered for word in ("instances", "annotations", "coco"))


def _instances(
    src_files: list[str], read_text: Any
) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, str]]]:
    """(COCO instances documents, JSON files that cannot be read and why)."""
    found, unreadable = [], []
    for f in sorted(src_files):
        if not f.endswith(".json"):
            continue
        try:
            data = load_json(read_text(f))
        except (DocumentError, ValueError) as exc:  # ValueError: larger than ingest reads
            unreadable.append((f, str(exc)))
            continue
        if isinstance(data, dict) and all(isinstance(data.get(k), list) for k in _REQUIRED):
            found.append((f, data))
    return found, unreadable


def looks_like(files: list[str], read_text: Any) -> str | None:
    found, unreadable = _instances(files, read_text)
    jsons = [f for f, _ in found]
    if jsons:
        return f"{', '.join(jsons[:3])} with images, annotations and categories"
    # An annotation file that cannot be read is still the upload's format: say why there.
    broken = [f for f, _ in unreadable if _could_be_annotations(f)]
    if broken:
        return f"{broken[0]}, an annotation JSON file that cannot be read"
    return None


def rle_counts_total(counts: str | list[int]) -> int:
    """The number of pixels an RLE covers (COCO's compressed string or a list of runs).

    ValueError or IndexError when the string is not COCO's compression."""
    if isinstance(counts, list):
        return sum(counts)
    # COCO's LEB128-like compression (maskApi.c rleFrString): 6 bits a char, offset 48.
    total, i = 0, 0
    runs: list[int] = []
    while i < len(counts):
        x, k, more = 0, 0, True
        while more:
            if k >= _MAX_RLE_DIGITS:
                raise ValueError("RLE count too long")
            c = ord(counts[i]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            i += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
    for r in runs:
        total += r
    return total


class _ImageIndex:
    """Finds the file a COCO `file_name` means: by path near the JSON, else by unique name."""

    def __init__(self, files: list[str]) -> None:
        self.files = {f for f in files if is_image_name(f)}
        by_name: dict[str, list[str]] = defaultdict(list)
        for f in self.files:
            by_name[PurePosixPath(f).name].append(f)
        self.by_name = by_name

    def find(self, file_name: str, json_file: str, split: str | None) -> str | None:
        json_dir = PurePosixPath(json_file).parent
        up = json_dir.parent
        bases = [
            json_dir,
            up / "images" / (split or ""),
            up / "images",
            up / (split or ""),
            up,
            PurePosixPath("images"),
            PurePosixPath("."),
        ]
        for base in bases:
            candidate = str(base / file_name).removeprefix("./")
            if candidate in self.files:
                return candidate
        matches = self.by_name.get(PurePosixPath(file_name).name, [])
        if split:
            in_split = [
                m for m in matches if any(split_name(p) == split for p in m.split("/")[:-1])
            ]
            matches = in_split or matches
        return matches[0] if len(matches) == 1 else None


def _categories(
    instances: list[tuple[str, dict[str, Any]]], problems: Any
) -> dict[int, dict[str, Any]]:
    """One class list across all JSON files, by category id."""
    categories: dict[int, dict[str, Any]] = {}
    for f, data in instances:
        for cat in data["categories"]:
            if not (
                isinstance(cat, dict)
                and isinstance(cat.get("id"), int)
                and not isinstance(cat.get("id"), bool)
                and isinstance(cat.get("name"), str | int)
            ):
                problems.add(
                    f,
                    f"category without an integer id and a name: {quote(cat)}",
                    code="bad_category",
                )
                continue
            categories.setdefault(cat["id"], cat)
    return categories


def _keypoint_spec(
    categories: dict[int, dict[str, Any]],
    instances: list[tuple[str, dict[str, Any]]],
    problems: Any,
) -> KeypointSpec | None:
    kp_names = next((c.get("keypoints") for c in categories.values() if c.get("keypoints")), None)
    if kp_names is None:
        return None
    if not (isinstance(kp_names, list) and all(isinstance(n, str | int) for n in kp_names)):
        problems.add(
            instances[0][0],
            f"a category's `keypoints` must list their names, not {quote(kp_names)}",
            code="bad_category",
        )
        return None
    return KeypointSpec(num=len(kp_names), names=[str(n) for n in kp_names])


def parse(src: Source) -> Parsed:
    problems = src.problems
    instances, unreadable = _instances(src.files, src.read_text)
    for f, reason in unreadable:
        problems.add(f, reason, code="bad_json")
    categories = _categories(instances, problems)
    cat_ids = sorted(categories)
    reader = _Reader(src, _ImageIndex(src.files), {cid: i for i, cid in enumerate(cat_ids)})
    reader.keypoints = _keypoint_spec(categories, instances, problems)
    images: list[DraftImage] = []
    for f, data in instances:
        images.extend(reader.document(f, data))

    used = {f for f, _ in instances}
    for f in src.files:
        if f not in used and not is_image_name(f) and not f.endswith((".json", ".txt", ".md")):
            problems.add(f, "neither an image nor a COCO annotation file", code="non_image_file")
    task = src.declared_task or (
        "pose_estimation"
        if reader.saw_keypoints
        else "instance_segmentation"
        if reader.saw_masks
        else "object_detection"
    )
    return Parsed(
        task_type=task,
        classes=[str(categories[c]["name"]) for c in cat_ids],
        images=images,
        keypoints=reader.keypoints if task == "pose_estimation" else None,
        used_files=used,
    )


class _Reader:
    """Reads the images and annotations of each instances document, naming each problem
    where it is; what it saw across documents decides the task when none was declared."""

    def __init__(self, src: Source, index: _ImageIndex, class_of: dict[Any, int]) -> None:
        self.src, self.problems, self.index, self.class_of = src, src.problems, index, class_of
        self.keypoints: KeypointSpec | None = None
        self.wants_masks = src.declared_task in (None, "instance_segmentation")
        self.wants_keypoints = src.declared_task in (None, "pose_estimation")
        self.seen: set[str] = set()  # image paths already listed
        self.saw_masks = self.saw_keypoints = False

    def document(self, f: str, data: dict[str, Any]) -> list[DraftImage]:
        split = split_in_name(f)
        drafts: dict[Any, DraftImage] = {}
        image_ids: set[Any] = set()  # every id the file lists, usable or not
        for entry in data["images"]:
            if not (
                isinstance(entry, dict)
                and _is_id(entry.get("id"))
                and isinstance(entry.get("file_name"), str)
            ):
                self.problems.add(
                    f,
                    f"image entry without an id and a file_name: {quote(entry)}",
                    code="bad_image_entry",
                )
                continue
            image_ids.add(entry["id"])
            draft = self._image(f, entry, split)
            if draft is not None:
                drafts[entry["id"]] = draft
        for n, ann in enumerate(data["annotations"]):
            if not isinstance(ann, dict):
                self.problems.add(
                    f, "annotation is not an object", f"annotation id {n}", code="bad_annotation"
                )
                continue
            where = f"annotation id {quote(ann.get('id', n))}"
            image_id = ann.get("image_id")
            draft = drafts.get(image_id) if _is_id(image_id) else None
            if draft is None:
                if not _is_id(image_id) or image_id not in image_ids:
                    self.problems.add(
                        f, f"image_id {quote(image_id)} names no image", where, code="missing_image"
                    )
                continue  # its image already failed and said why
            annotation = self._annotation(f, where, ann, self.src.images[draft.path])
            if annotation is not None:
                draft.annotations.append(annotation)
        return list(drafts.values())

    def _image(self, f: str, entry: dict[str, Any], split: str | None) -> DraftImage | None:
        """The image an `images` entry names, or None after saying why it is unusable."""
        path = self.index.find(entry["file_name"], f, split)
        where = f"image id {quote(entry['id'])}"
        if path is None:
            self.problems.add(
                f,
                f"references {quote(entry['file_name'])}, which is not in the upload",
                where,
                code="missing_image",
            )
            return None
        info = self.src.images.get(path)
        if info is None:
            return None  # undecodable: already a problem
        if (entry.get("width"), entry.get("height")) not in (
            (info.width, info.height),
            (None, None),
        ):
            self.problems.add(
                f,
                f"says {quote(entry.get('width'))}x{quote(entry.get('height'))} but {path} "
                f"is {info.width}x{info.height}",
                where,
                code="size_mismatch",
            )
            return None
        if path in self.seen:
            self.problems.add(f, f"{path} is listed twice", where, code="duplicate_image")
            return None
        self.seen.add(path)
        img_split = split or next(
            (split_name(p) for p in path.split("/")[:-1] if split_name(p)), None
        )
        return DraftImage(path=path, split=img_split)

    def _annotation(self, f: str, where: str, ann: dict[str, Any], info: Any) -> Annotation | None:
        """The annotation, or None after saying why it is unusable."""
        category_id = ann.get("category_id")
        if not _is_id(category_id) or category_id not in self.class_of:
            self.problems.add(
                f, f"category_id {quote(category_id)} is not a category", where, code="bad_class"
            )
            return None
        bbox = _numbers(ann.get("bbox"))
        if bbox is None or len(bbox) != 4:
            self.problems.add(
                f,
                "bbox must be [x, y, width, height], four finite numbers",
                where,
                code="bad_annotation",
            )
            return None
        box = (bbox[0], bbox[1], bbox[2], bbox[3])
        why = box_problem(box, info)
        if why:
            self.problems.add(f, why, where, code="box_outside_image")
            return None
        polygons, rle = None, None
        seg = ann.get("segmentation")
        if self.wants_masks and seg:
            polygons, rle, why = _segmentation(seg, info)
            if why:
                self.problems.add(f, why, where, code="bad_segmentation")
                return None
            self.saw_masks = True
        kps = None
        if self.wants_keypoints and self.keypoints and ann.get("keypoints"):
            kps = _numbers(ann["keypoints"])
            if kps is None or len(kps) != 3 * self.keypoints.num:
                have = f"{len(kps)}" if kps is not None else quote(ann["keypoints"])
                self.problems.add(
                    f,
                    f"keypoints need {3 * self.keypoints.num} finite numbers, have {have}",
                    where,
                    code="bad_keypoints",
                )
                return None
            self.saw_keypoints = True
        return Annotation(
            class_id=self.class_of[category_id], bbox=box, polygons=polygons, rle=rle,
            keypoints=kps, iscrowd=bool(ann.get("iscrowd", 0)),
        )  # fmt: skip


def _segmentation(seg: Any, info: Any) -> tuple[list[list[float]] | None, Rle | None, str | None]:
    if isinstance(seg, list):
        polygons = []
        for poly in seg:
            pts = _numbers(poly)
            if pts is None or len(pts) < 6 or len(pts) % 2:
                return (
                    None,
                    None,
                    "a polygon needs an even number (6 or more) of finite coordinates",
                )
            if (
                min(pts[0::2]) < -1
                or max(pts[0::2]) > info.width + 1
                or min(pts[1::2]) < -1
                or max(pts[1::2]) > info.height + 1
            ):
                return None, None, "polygon lies outside the image"
            polygons.append(pts)
        return polygons, None, None
    if isinstance(seg, dict) and "counts" in seg and "size" in seg:
        size, counts = seg["size"], seg["counts"]
        if not (isinstance(size, list) and len(size) == 2 and all(_is_int(v) for v in size)):
            return None, None, f"RLE size must be [height, width], not {quote(size)}"
        if size != [info.height, info.width]:
            return (
                None,
                None,
                f"RLE size {size} differs from the image's [{info.height}, {info.width}]",
            )
        if not (
            isinstance(counts, str)
            or (isinstance(counts, list) and all(_is_int(v) and v >= 0 for v in counts))
        ):
            return None, None, "RLE counts must be COCO's string or a list of run lengths"
        try:
            covered = rle_counts_total(counts)
        except (ValueError, IndexError):
            return None, None, "RLE counts cannot be decoded"
        if covered != info.height * info.width:
            return (
                None,
                None,
                f"RLE covers {covered} pixels, the image has {info.height * info.width}",
            )
        return None, Rle(size=(size[0], size[1]), counts=counts), None
    return None, None, "segmentation must be polygons or an RLE {size, counts}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
