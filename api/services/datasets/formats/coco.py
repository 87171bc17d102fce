"""COCO: instances JSON files (images, annotations, categories) beside the images.

Boxes are [x, y, w, h] in pixels; segmentation is polygons or an RLE mask; keypoints
are x, y, v triplets. The split comes from the JSON's name (instances_val2017.json).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import PurePosixPath
from typing import Any

from api.services.datasets.formats.base import (
    DraftImage,
    Parsed,
    Source,
    box_problem,
    split_in_name,
    split_name,
)
from api.services.datasets.images import is_image_name
from contract.manifest import Annotation, KeypointSpec, Rle

_REQUIRED = ("images", "annotations", "categories")


def _instances(src_files: list[str], read_text: Any) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for f in sorted(src_files):
        if not f.endswith(".json"):
            continue
        try:
            data = json.loads(read_text(f))
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(data, dict) and all(isinstance(data.get(k), list) for k in _REQUIRED):
            found.append((f, data))
    return found


def looks_like(files: list[str], read_text: Any) -> str | None:
    jsons = [f for f, _ in _instances(files, read_text)]
    if jsons:
        return f"{', '.join(jsons[:3])} with images, annotations and categories"
    return None


def rle_counts_total(counts: str | list[int]) -> int:
    """The number of pixels an RLE covers (COCO's compressed string or a list of runs)."""
    if isinstance(counts, list):
        return sum(counts)
    # COCO's LEB128-like compression (maskApi.c rleFrString): 6 bits a char, offset 48.
    total, i = 0, 0
    runs: list[int] = []
    while i < len(counts):
        x, k, more = 0, 0, True
        while more:
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


def parse(src: Source) -> Parsed:
    problems = src.problems
    instances = _instances(src.files, src.read_text)
    index = _ImageIndex(src.files)
    # One class list across all JSON files, by category id.
    categories: dict[int, dict[str, Any]] = {}
    for f, data in instances:
        for cat in data["categories"]:
            if not isinstance(cat, dict) or not isinstance(cat.get("id"), int) or "name" not in cat:
                problems.add(
                    f,
                    f"category without an integer id and a name: {str(cat)[:80]}",
                    code="bad_category",
                )
                continue
            categories.setdefault(cat["id"], cat)
    cat_ids = sorted(categories)
    class_of = {cid: i for i, cid in enumerate(cat_ids)}
    classes = [str(categories[c]["name"]) for c in cat_ids]
    kp_names = next((c.get("keypoints") for c in categories.values() if c.get("keypoints")), None)
    keypoints = (
        KeypointSpec(num=len(kp_names), names=[str(n) for n in kp_names]) if kp_names else None
    )
    wants_masks = src.declared_task in (None, "instance_segmentation")
    wants_keypoints = src.declared_task in (None, "pose_estimation")

    images: list[DraftImage] = []
    seen: set[str] = set()
    saw_masks = saw_keypoints = False
    for f, data in instances:
        split = split_in_name(f)
        drafts: dict[Any, DraftImage] = {}
        for entry in data["images"]:
            if not isinstance(entry, dict) or "id" not in entry or "file_name" not in entry:
                problems.add(
                    f,
                    f"image entry without id and file_name: {str(entry)[:80]}",
                    code="bad_image_entry",
                )
                continue
            path = index.find(str(entry["file_name"]), f, split)
            where = f"image id {entry['id']}"
            if path is None:
                problems.add(
                    f,
                    f"references {entry['file_name']!r}, which is not in the upload",
                    where,
                    code="missing_image",
                )
                continue
            info = src.images.get(path)
            if info is None:
                continue  # undecodable: already a problem
            if (entry.get("width"), entry.get("height")) not in (
                (info.width, info.height),
                (None, None),
            ):
                problems.add(
                    f,
                    f"says {entry.get('width')}x{entry.get('height')} but {path} is "
                    f"{info.width}x{info.height}",
                    where,
                    code="size_mismatch",
                )
                continue
            if path in seen:
                problems.add(f, f"{path} is listed twice", where, code="duplicate_image")
                continue
            seen.add(path)
            img_split = split or next(
                (split_name(p) for p in path.split("/")[:-1] if split_name(p)), None
            )
            drafts[entry["id"]] = DraftImage(path=path, split=img_split)
        for n, ann in enumerate(data["annotations"]):
            where = f"annotation id {ann.get('id', n) if isinstance(ann, dict) else n}"
            if not isinstance(ann, dict):
                problems.add(f, "annotation is not an object", where, code="bad_annotation")
                continue
            draft = drafts.get(ann.get("image_id"))
            if draft is None:
                if not any(
                    img.get("id") == ann.get("image_id")
                    for img in data["images"]
                    if isinstance(img, dict)
                ):
                    problems.add(
                        f,
                        f"image_id {ann.get('image_id')} names no image",
                        where,
                        code="missing_image",
                    )
                continue  # its image already failed and said why
            info = src.images[draft.path]
            if ann.get("category_id") not in class_of:
                problems.add(
                    f,
                    f"category_id {ann.get('category_id')} is not a category",
                    where,
                    code="bad_class",
                )
                continue
            try:
                bbox = tuple(float(v) for v in ann["bbox"])
                assert len(bbox) == 4
            except (KeyError, TypeError, ValueError, AssertionError):
                problems.add(f, "bbox must be [x, y, width, height]", where, code="bad_annotation")
                continue
            why = box_problem(bbox, info)  # type: ignore[arg-type]
            if why:
                problems.add(f, why, where, code="box_outside_image")
                continue
            polygons, rle = None, None
            seg = ann.get("segmentation")
            if wants_masks and seg:
                polygons, rle, why = _segmentation(seg, info)
                if why:
                    problems.add(f, why, where, code="bad_segmentation")
                    continue
                saw_masks = True
            kps = None
            if wants_keypoints and keypoints and ann.get("keypoints"):
                kps = [float(v) for v in ann["keypoints"]]
                if len(kps) != 3 * keypoints.num:
                    problems.add(
                        f,
                        f"keypoints need {3 * keypoints.num} values, have {len(kps)}",
                        where,
                        code="bad_keypoints",
                    )
                    continue
                saw_keypoints = True
            draft.annotations.append(
                Annotation(
                    class_id=class_of[ann["category_id"]], bbox=bbox, polygons=polygons, rle=rle,  # type: ignore[arg-type]
                    keypoints=kps, iscrowd=bool(ann.get("iscrowd", 0)),
                )
            )  # fmt: skip
        images.extend(drafts.values())

    used = {f for f, _ in instances}
    for f in src.files:
        if f not in used and not is_image_name(f) and not f.endswith((".json", ".txt", ".md")):
            problems.add(f, "neither an image nor a COCO annotation file", code="non_image_file")
    task = src.declared_task or (
        "pose_estimation"
        if saw_keypoints
        else "instance_segmentation"
        if saw_masks
        else "object_detection"
    )
    return Parsed(
        task_type=task,
        classes=classes,
        images=images,
        keypoints=keypoints if task == "pose_estimation" else None,
        used_files=used,
    )


def _segmentation(seg: Any, info: Any) -> tuple[list[list[float]] | None, Rle | None, str | None]:
    if isinstance(seg, list):
        polygons = []
        for poly in seg:
            if not isinstance(poly, list) or len(poly) < 6 or len(poly) % 2:
                return None, None, "a polygon needs an even number (6 or more) of coordinates"
            pts = [float(v) for v in poly]
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
        size = tuple(seg["size"])
        if size != (info.height, info.width):
            return (
                None,
                None,
                f"RLE size {list(size)} differs from the image's [{info.height}, {info.width}]",
            )
        try:
            covered = rle_counts_total(seg["counts"])
        except (TypeError, IndexError):
            return None, None, "RLE counts cannot be decoded"
        if covered != info.height * info.width:
            return (
                None,
                None,
                f"RLE covers {covered} pixels, the image has {info.height * info.width}",
            )
        return None, Rle(size=size, counts=seg["counts"]), None  # type: ignore[arg-type]
    return None, None, "segmentation must be polygons or an RLE {size, counts}"
