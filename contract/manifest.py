"""The normalized dataset manifest: one schema for every source format.

The API writes it once when a dataset is ingested (from ImageFolder, YOLO, COCO,
Pascal VOC or semantic masks); every trainer reads it through converters to what its
framework wants, so the same dataset trains the same everywhere. Coordinates are
absolute pixels of the stored image, COCO-style: boxes are [x, y, width, height] from
the top-left.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

MANIFEST_VERSION = 1

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")


class Rle(BaseModel):
    """A COCO run-length mask: counts as COCO's compressed string or a list of runs."""

    size: tuple[int, int]  # [height, width]
    counts: str | list[int]


class Annotation(BaseModel):
    class_id: int = Field(ge=0)
    bbox: tuple[float, float, float, float]  # x, y, width, height
    # Instance segmentation: polygons (flat x1, y1, x2, y2, ...) or one RLE mask.
    polygons: list[list[float]] | None = None
    rle: Rle | None = None
    # Pose: x, y, visibility (0 absent, 1 occluded, 2 visible) per keypoint.
    keypoints: list[float] | None = None
    iscrowd: bool = False


class ImageEntry(BaseModel):
    path: str  # relative to the dataset's files, POSIX
    split: Split
    width: int
    height: int
    size: int  # bytes
    sha256: str
    label: int | None = None  # classification: the class id
    annotations: list[Annotation] = Field(default_factory=list)


class KeypointSpec(BaseModel):
    num: int = Field(ge=1)
    names: list[str] | None = None
    flip_idx: list[int] | None = None  # for horizontal-flip augmentation


class Manifest(BaseModel):
    version: int = MANIFEST_VERSION
    task_type: str
    source_format: str
    classes: list[str]
    keypoints: KeypointSpec | None = None
    images: list[ImageEntry]


class SnapshotFile(BaseModel):
    path: str
    size: int
    sha256: str


class Snapshot(BaseModel):
    """A frozen manifest plus the sha256 of every file it names: what a job trains on.

    Files are read from `files_prefix` + path in storage; a file whose bytes no longer
    hash to the recorded sha256 makes the snapshot broken.
    """

    version: int = MANIFEST_VERSION
    dataset_id: str
    files_prefix: str
    manifest: Manifest
    files: list[SnapshotFile]
