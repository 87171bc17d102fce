"""A dataset's images, a page at a time, for the console's gallery: each with its split,
size, annotations as the manifest holds them, and signed URLs of its thumbnail and of
the original (for a detail view).

The manifest is read from storage once per version of the dataset (its `updated_at`,
which every change of the manifest moves) and kept by this process, so that paging
through a large dataset does not read and parse it again for every page.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from api.db.models import Dataset, DatasetStatus, User
from api.errors import Conflict, ServiceUnavailable, Unprocessable
from api.schemas.common import PageParams
from api.schemas.datasets import DatasetImage, DatasetImagePage, ImageAnnotation
from api.services import ownership
from api.services.datasets import thumbnails
from api.services.storage import Storage, StorageError, get_storage
from api.settings import Settings
from contract.manifest import ImageEntry, Manifest

# The manifests this process keeps, counted in images (a 100k-image manifest is a few
# hundred MB of objects): the most recently read ones that fit.
_CACHED_IMAGES = 200_000
_cache: OrderedDict[tuple[uuid.UUID, datetime], Manifest] = OrderedDict()
_cache_lock = threading.Lock()


def page(
    db: Session,
    settings: Settings,
    user: User,
    dataset_id: uuid.UUID,
    params: PageParams,
    *,
    split: str | None = None,
    class_name: str | None = None,
) -> DatasetImagePage:
    """The images of a dataset `user` may read, in path order, filtered by split and by
    class (the image's label, or any of its annotations), `params`' page of them.

    NotFound for a dataset that is missing or not theirs to read; Conflict `not_ready`
    for one without a manifest (uploading, processing, error); Unprocessable
    `unknown_class` for a class name the dataset does not have; ServiceUnavailable when
    storage fails. An offset past the end is an empty page.
    """
    dataset = ownership.get_for_read(db, Dataset, dataset_id, user)
    storage = get_storage(settings)
    manifest = _manifest(storage, dataset)
    class_ids = _class_ids(manifest, class_name)
    chosen = [
        image
        for image in manifest.images
        if (split is None or image.split == split)
        and (class_ids is None or _shows(image, class_ids))
    ]
    window = chosen[params.offset : params.offset + params.limit]
    expires = settings.signed_url_expire_seconds
    prefix = dataset.storage_prefix
    try:
        thumbnails.ensure(storage, prefix, window)
        items = [_item(storage, prefix, manifest.classes, image, expires) for image in window]
    except StorageError as exc:
        raise ServiceUnavailable(f"Storage could not serve the images: {exc}") from exc
    return DatasetImagePage(
        items=items,
        total=len(chosen),
        limit=params.limit,
        offset=params.offset,
        task_type=manifest.task_type,
        classes=manifest.classes,
        keypoints=manifest.keypoints,
        thumbnail_max_side=thumbnails.MAX_SIDE,
        expires_at=datetime.now(UTC) + timedelta(seconds=expires),
    )


def _class_ids(manifest: Manifest, class_name: str | None) -> set[int] | None:
    if class_name is None:
        return None
    # A COCO file may give two category ids one name: both are that class.
    ids = {i for i, name in enumerate(manifest.classes) if name == class_name}
    if not ids:
        raise Unprocessable(
            f"class_name: {class_name[:100]!r} is not a class of this dataset",
            code="unknown_class",
        )
    return ids


def _shows(image: ImageEntry, class_ids: set[int]) -> bool:
    return image.label in class_ids or any(a.class_id in class_ids for a in image.annotations)


def _item(
    storage: Storage, prefix: str, classes: list[str], image: ImageEntry, expires: int
) -> DatasetImage:
    return DatasetImage(
        path=image.path,
        split=image.split,
        width=image.width,
        height=image.height,
        size=image.size,
        sha256=image.sha256,
        label=image.label,
        label_name=None if image.label is None else classes[image.label],
        annotations=[
            ImageAnnotation(**a.model_dump(), class_name=classes[a.class_id])
            for a in image.annotations
        ],
        thumbnail_url=storage.presign_get(thumbnails.key(prefix, image.sha256), expires),
        url=storage.presign_get(f"{prefix}files/{image.path}", expires),
    )


def _manifest(storage: Storage, dataset: Dataset) -> Manifest:
    if dataset.status != DatasetStatus.READY or not dataset.manifest_key:
        raise Conflict(f"Dataset is {dataset.status.value}: it has no images yet", code="not_ready")
    version = (dataset.id, dataset.updated_at)
    with _cache_lock:
        cached = _cache.get(version)
        if cached is not None:
            _cache.move_to_end(version)
            return cached
    try:
        manifest = Manifest.model_validate_json(storage.get_bytes(dataset.manifest_key))
    except StorageError as exc:
        raise ServiceUnavailable(f"Storage could not read the manifest: {exc}") from exc
    if len(manifest.images) <= _CACHED_IMAGES:
        with _cache_lock:
            for old in [v for v in _cache if v[0] == dataset.id]:
                del _cache[old]  # an older version of the same dataset
            _cache[version] = manifest
            while sum(len(m.images) for m in _cache.values()) > _CACHED_IMAGES:
                _cache.popitem(last=False)  # the least recently read; never this one
    return manifest
