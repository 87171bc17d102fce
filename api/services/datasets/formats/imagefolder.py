"""ImageFolder: `class/image` or `split/class/image` folders; the class is the folder."""

from __future__ import annotations

from typing import Any

from api.services.datasets.formats.base import DraftImage, Parsed, Source, split_name
from api.services.datasets.images import is_image_name


def looks_like(files: list[str], read_text: Any) -> str | None:
    """Why this is an ImageFolder tree, or None."""
    images = [f for f in files if is_image_name(f)]
    if not images:
        return None
    depths = {f.count("/") for f in images}
    if depths == {2} and all(split_name(f.split("/")[0]) for f in images):
        splits = sorted({split_name(f.split("/")[0]) or "" for f in images})
        return f"images sit in split/class folders ({', '.join(splits)}) with no label files"
    if depths == {1}:
        return "images sit in one folder per class with no label files"
    return None


def parse(src: Source) -> Parsed:
    problems = src.problems
    drafts: list[tuple[str, str | None, str]] = []  # path, split, class name
    for rel in src.files:
        parts = rel.split("/")
        if not is_image_name(rel):
            problems.add(
                rel, "not an image (ImageFolder datasets hold images only)", code="non_image_file"
            )
            continue
        if len(parts) == 3 and split_name(parts[0]):
            drafts.append((rel, split_name(parts[0]), parts[1]))
        elif len(parts) == 2:
            drafts.append((rel, None, parts[0]))
        else:
            problems.add(
                rel, "image is not inside a class folder (class/image or split/class/image)",
                code="misplaced_image",
            )  # fmt: skip
    classes = sorted({c for _, _, c in drafts})
    index = {c: i for i, c in enumerate(classes)}
    images = [DraftImage(path=p, split=s, label=index[c]) for p, s, c in drafts if p in src.images]
    return Parsed(task_type="image_classification", classes=classes, images=images)
