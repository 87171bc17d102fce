from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import ORMModel, Page, TaskType
from api.services.datasets.splits import SplitPolicy
from contract.manifest import Annotation, KeypointSpec, Split

DatasetFormat = Literal["imagefolder", "yolo", "coco", "pascal_voc", "semantic_masks"]
Visibility = Literal["private", "public"]


class DatasetMeta(BaseModel):
    """What a user says about an upload; the rest is found in the files."""

    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=2000)
    format: DatasetFormat | None = None  # None: detect it
    task_type: TaskType | None = None  # None: what the labels say
    visibility: Visibility = "private"
    project_id: uuid.UUID | None = None
    split: SplitPolicy = Field(default_factory=SplitPolicy)


class DirectUploadCreate(DatasetMeta):
    filename: str = Field(
        min_length=1, max_length=255, description="archive name: .zip, .tar, .tar.gz"
    )
    size_bytes: int = Field(gt=0)


class UploadPart(BaseModel):
    part_number: int
    url: str


class DirectUpload(BaseModel):
    dataset_id: uuid.UUID
    part_size: int
    parts: list[UploadPart]
    expires_in: int


class CompletedPart(BaseModel):
    part_number: int = Field(ge=1, le=10_000)
    etag: str = Field(min_length=1, max_length=200)


class DirectUploadComplete(BaseModel):
    parts: list[CompletedPart] = Field(min_length=1, max_length=10_000)


class DatasetUpdate(BaseModel):
    # Omitted means unchanged; a dataset keeps a name.
    name: str = Field(default=None, min_length=1, max_length=255)  # type: ignore[assignment]
    description: str | None = Field(default=None, max_length=2000)
    visibility: Visibility = Field(default=None)  # type: ignore[arg-type]
    project_id: uuid.UUID | None = None


class DatasetRead(ORMModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    project_id: uuid.UUID | None
    name: str
    description: str | None
    visibility: str
    format: str | None
    format_detection: dict[str, Any] | None
    task_type: str | None
    status: str
    num_images: int
    num_classes: int | None
    class_names: list[Any] | None
    stats: dict[str, Any] | None
    split_config: dict[str, Any] | None
    size_bytes: int
    validation_errors: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class ResplitRequest(SplitPolicy):
    pass


class SnapshotCreate(BaseModel):
    version_tag: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")


class SnapshotRead(ORMModel):
    id: uuid.UUID
    dataset_id: uuid.UUID
    snapshot_type: str
    version_tag: str | None
    status: str
    integrity_status: dict[str, Any] | None
    num_images: int
    manifest_sha256: str
    created_at: datetime


class ImageAnnotation(Annotation):
    """An annotation as the manifest holds it (absolute pixels of the stored image;
    boxes [x, y, width, height] from the top-left), with its class's name."""

    class_name: str


class DatasetImage(BaseModel):
    """One image of a dataset, as the gallery shows it."""

    path: str = Field(description="relative to the dataset's files, POSIX")
    split: Split
    width: int
    height: int
    size: int = Field(description="bytes")
    sha256: str
    label: int | None = Field(description="classification: the image's class id")
    label_name: str | None = Field(description="classification: the image's class name")
    annotations: list[ImageAnnotation]
    thumbnail_url: str = Field(
        description="signed, expiring URL of a JPEG at most `thumbnail_max_side` pixels a "
        "side, same aspect ratio, in the stored image's pixel orientation"
    )
    url: str = Field(description="signed, expiring URL of the original image")


class DatasetImagePage(Page[DatasetImage]):
    """A page of a dataset's images (in path order) and what reading them needs."""

    task_type: str
    classes: list[str]
    keypoints: KeypointSpec | None
    thumbnail_max_side: int
    expires_at: datetime = Field(description="when the page's URLs stop working")
