"""Dataset formats: each module detects its layout (`looks_like`) and parses it into
drafts of the normalized manifest (`parse`). Adding a format is adding a module here
and a line in FORMATS.
"""

from __future__ import annotations

from types import ModuleType

from api.services.datasets.formats import coco, imagefolder, voc, yolo

# In detection order: the most specific layout first (ImageFolder matches almost anything).
FORMATS: dict[str, ModuleType] = {
    "coco": coco,
    "yolo": yolo,
    "pascal_voc": voc,
    "imagefolder": imagefolder,
}
