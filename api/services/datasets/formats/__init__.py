"""Dataset formats: each module detects its layout (`looks_like`) and parses it into
drafts of the normalized manifest (`parse`). Adding a format is adding a module here
and a line in FORMATS.

A format whose labels are pictures (semantic masks) also says which files those are
(`label_pictures`): the ingest then neither decodes them as dataset images nor makes
their thumbnails; the format reads them itself (`Source.read_bytes`).
"""

from __future__ import annotations

from types import ModuleType

from api.services.datasets.formats import coco, imagefolder, semantic_masks, voc, yolo

# In detection order: the most specific layout first (ImageFolder matches almost anything).
FORMATS: dict[str, ModuleType] = {
    "coco": coco,
    "yolo": yolo,
    "pascal_voc": voc,
    # Before ImageFolder: without splits, images/ and masks/ look like two class folders.
    "semantic_masks": semantic_masks,
    "imagefolder": imagefolder,
}


def label_pictures(fmt: str, files: list[str]) -> set[str]:
    """The files of an upload in format `fmt` that look like images but are its labels."""
    found = getattr(FORMATS[fmt], "label_pictures", None)
    return set(found(files)) if found is not None else set()
