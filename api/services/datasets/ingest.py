"""From an unpacked upload on disk to a validated manifest, or the list of what is wrong.

Touches neither the database nor storage: it reads the folder, and writes the images'
thumbnails to another when asked to (from the decode that validates them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from api.services.datasets import images as image_scan
from api.services.datasets import splits, stats
from api.services.datasets.formats import FORMATS, label_pictures
from api.services.datasets.formats.base import Parsed, Source, check_class_names
from api.services.datasets.problems import Problems
from contract.manifest import ImageEntry, Manifest

_T = TypeVar("_T")

_MAX_TEXT = 256 * 1024 * 1024  # a label or annotation file larger than this is refused

# A declared task may be narrower than what the labels hold: masks and keypoints still
# carry boxes, so they can train a detector.
_NARROWS_TO = {
    "object_detection": {"instance_segmentation", "pose_estimation"},
}


@dataclass
class IngestResult:
    detection: dict[str, Any]
    problems: Problems
    manifest: Manifest | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    root: str = ""  # the folder inside the upload that holds the dataset ("" for the top)
    # The thumbnail file of every image in the manifest, by its path (when asked for).
    thumbnails: dict[str, Path] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.manifest is not None and not self.problems


def find_root(files: list[str]) -> tuple[str, list[str]]:
    """Strip folders every file shares (an archive of `mydata/...`): (root, relative files)."""
    root_parts: list[str] = []
    rel = files
    while rel and all("/" in f for f in rel):
        top = {f.split("/", 1)[0] for f in rel}
        if len(top) != 1:
            break
        name = top.pop()
        # Never strip a folder that is part of a format's layout.
        if name in ("images", "labels", "Annotations", "JPEGImages", "annotations"):
            break
        root_parts.append(name)
        rel = [f.split("/", 1)[1] for f in rel]
    return "/".join(root_parts), rel


def detect(
    files: list[str], read_text: Any, declared: str | None
) -> tuple[str | None, dict[str, Any]]:
    """(format, detection report). The report says what was found and why, for each format."""
    reasons = {name: module.looks_like(files, read_text) for name, module in FORMATS.items()}
    found = next((name for name, why in reasons.items() if why), None)
    report: dict[str, Any] = {
        "detected": found,
        "reason": reasons.get(found) if found else None,
        "candidates": {k: v for k, v in reasons.items() if v},
    }
    if declared is None:
        return found, report
    report["declared"] = declared
    if reasons.get(declared):
        report["reason"] = reasons[declared]
        return declared, report
    return None, report


def ingest(
    folder: Path,
    files: list[str],
    *,
    declared_format: str | None,
    declared_task: str | None,
    policy: splits.SplitPolicy,
    max_pixels: int,
    thumbnails_dir: Path | None = None,
) -> IngestResult:
    """Detect, decode, parse, validate and split the dataset in `folder`; with
    `thumbnails_dir`, write each image's thumbnail there (see `result.thumbnails`)."""
    problems = Problems()
    root_name, rel_files = find_root(sorted(files))
    root = folder / root_name if root_name else folder
    read_text = _reader(root, lambda path: path.read_text(encoding="utf-8-sig", errors="replace"))
    read_bytes = _reader(root, Path.read_bytes)

    fmt, report = detect(rel_files, read_text, declared_format)
    report["root"] = root_name
    result = IngestResult(detection=report, problems=problems, root=root_name)
    if not rel_files:
        problems.add(None, "the upload holds no files", code="empty_dataset")
        return result
    if fmt is None:
        _no_format(declared_format, report, problems)
        return result

    # A format's label pictures (semantic masks) are neither dataset images nor thumbnailed.
    labels = label_pictures(fmt, rel_files)
    pictures = [f for f in rel_files if f not in labels] if labels else rel_files
    infos = image_scan.scan_images(root, pictures, problems, max_pixels, thumbnails_dir)
    source = Source(
        files=rel_files,
        images=infos,
        problems=problems,
        declared_task=declared_task,
        read_text=read_text,
        read_bytes=read_bytes,
    )
    parsed: Parsed = FORMATS[fmt].parse(source)
    check_class_names(parsed.classes, problems)
    task = _task(parsed, fmt, declared_task, problems)
    if problems:
        return result

    splits.assign(parsed.images, policy, stratify=task == "image_classification", problems=problems)
    if problems:
        return result
    entries = []
    for draft in parsed.images:
        info = infos[draft.path]
        entry = ImageEntry(
            path=draft.path,
            split=draft.split,  # type: ignore[arg-type]
            width=info.width,
            height=info.height,
            size=info.size,
            sha256=info.sha256,
            label=draft.label,
            annotations=draft.annotations,
        )
        entries.append(entry)
        if info.thumbnail is not None:
            result.thumbnails[draft.path] = info.thumbnail
    entries.sort(key=lambda e: e.path)
    result.manifest = Manifest(
        task_type=task,
        source_format=fmt,
        classes=parsed.classes,
        keypoints=parsed.keypoints,
        images=entries,
    )
    result.stats = stats.compute(result.manifest)
    return result


def _reader(root: Path, read: Callable[[Path], _T]) -> Callable[[str], _T]:
    """`read` of a file under `root`, by its relative name; ValueError past _MAX_TEXT."""

    def read_file(rel: str) -> _T:
        path = root / rel
        if path.stat().st_size > _MAX_TEXT:
            raise ValueError(f"{rel} is larger than {_MAX_TEXT // 2**20} MiB")
        return read(path)

    return read_file


def _no_format(declared_format: str | None, report: dict[str, Any], problems: Problems) -> None:
    if declared_format:
        seen = report["detected"]
        hint = f"; it looks like {seen}: {report['reason']}" if seen else ""
        problems.add(
            None,
            f"declared format {declared_format} does not match the upload{hint}",
            code="format_mismatch",
        )
    else:
        problems.add(
            None,
            "no known format (ImageFolder, YOLO, COCO, Pascal VOC, semantic masks) matches "
            "the upload",
            code="unknown_format",
        )


def _task(parsed: Parsed, fmt: str, declared_task: str | None, problems: Problems) -> str:
    """The dataset's task: the labels', or the declared one where the labels narrow to it
    (their masks and keypoints dropped). Problems for a mismatch or missing content."""
    task = parsed.task_type
    if declared_task and declared_task != task:
        if task in _NARROWS_TO.get(declared_task, set()):
            for image in parsed.images:
                for ann in image.annotations:
                    ann.polygons, ann.rle, ann.keypoints = None, None, None
            parsed.keypoints = None
            task = declared_task
        else:
            problems.add(
                None,
                f"declared task {declared_task} but the {fmt} labels are for {task}",
                code="task_mismatch",
            )
    if not parsed.images:
        problems.add(None, "the dataset has no usable images", code="empty_dataset")
    if not parsed.classes:
        problems.add(None, "the dataset defines no classes", code="no_classes")
    elif task == "image_classification" and len(parsed.classes) < 2:
        problems.add(None, "classification needs at least two classes", code="one_class")
    return task
