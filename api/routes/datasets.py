"""Datasets: upload (form or direct to storage), browse, change, split, snapshot."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile, status
from pydantic import ValidationError

from api.deps import CurrentUser, SessionDep, SettingsDep
from api.errors import Unprocessable, invalid_form
from api.schemas.common import Page, PageParams, TaskType
from api.schemas.datasets import (
    DatasetFormat,
    DatasetImagePage,
    DatasetMeta,
    DatasetRead,
    DatasetUpdate,
    DirectUpload,
    DirectUploadComplete,
    DirectUploadCreate,
    ResplitRequest,
    SnapshotCreate,
    SnapshotRead,
)
from api.services.datasets import catalog, gallery, snapshots, uploads
from contract.manifest import Split

router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])


def _meta(fields: dict[str, Any]) -> DatasetMeta:
    """Form fields as a DatasetMeta; 422 in the common shape when they do not fit."""
    try:
        if isinstance(fields.get("split"), str):
            fields["split"] = json.loads(fields["split"])
        return DatasetMeta.model_validate({k: v for k, v in fields.items() if v is not None})
    except json.JSONDecodeError as exc:
        raise Unprocessable(f"split: not JSON ({exc.msg})", code="validation_error") from None
    except ValidationError as exc:
        raise invalid_form(exc) from None


@router.post("", response_model=DatasetRead, status_code=status.HTTP_201_CREATED)
def upload_dataset(
    user: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    name: Annotated[str, Form()],
    files: Annotated[
        list[UploadFile],
        File(
            description="One archive (.zip, .tar, .tar.gz), or many files named by their "
            "relative paths"
        ),
    ],
    description: Annotated[str | None, Form()] = None,
    format: Annotated[DatasetFormat | None, Form(description="Leave out to detect it")] = None,
    task_type: Annotated[TaskType | None, Form()] = None,
    visibility: Annotated[str | None, Form()] = None,
    project_id: Annotated[str | None, Form()] = None,
    split: Annotated[
        str | None, Form(description="JSON: {strategy, train, val, test, seed, assignments}")
    ] = None,
) -> object:
    """Upload and ingest a dataset. It answers 201 with status `ready` and its stats, or
    `error` and the list of what is wrong with its content. Unsafe archives, bombs and
    quota are refused with a 4xx and nothing kept."""
    meta = _meta(
        {
            "name": name, "description": description, "format": format, "task_type": task_type,
            "visibility": visibility, "project_id": project_id, "split": split,
        }
    )  # fmt: skip
    return uploads.create_from_upload(
        db, settings, user, meta, [(f.filename or "upload", f.file) for f in files]
    )


@router.get("", response_model=Page[DatasetRead])
def list_datasets(
    user: CurrentUser,
    db: SessionDep,
    page: Annotated[PageParams, Depends()],
    status: str | None = None,
    format: DatasetFormat | None = None,
    task_type: TaskType | None = None,
    project_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=200, description="in name or description")] = None,
) -> Page[DatasetRead]:
    return catalog.list_for(
        db,
        user,
        page,
        status=status,
        format=format,
        task_type=task_type,
        project_id=project_id,
        q=q,
    )


@router.post("/uploads", response_model=DirectUpload, status_code=status.HTTP_201_CREATED)
def start_direct_upload(
    data: DirectUploadCreate, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> DirectUpload:
    """For large archives: PUT each part to its URL (keep each answer's ETag header),
    then complete. The bytes go straight to storage, never through the API."""
    return uploads.start_direct_upload(db, settings, user, data)


@router.post("/uploads/{dataset_id}/complete", response_model=DatasetRead)
def complete_direct_upload(
    dataset_id: uuid.UUID,
    data: DirectUploadComplete,
    user: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
) -> object:
    parts = [p.model_dump() for p in data.parts]
    return uploads.complete_direct_upload(db, settings, user, dataset_id, parts)


@router.get("/{dataset_id}", response_model=DatasetRead)
def get_dataset(dataset_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> object:
    return catalog.get(db, user, dataset_id)


@router.patch("/{dataset_id}", response_model=DatasetRead)
def update_dataset(
    dataset_id: uuid.UUID, data: DatasetUpdate, user: CurrentUser, db: SessionDep
) -> object:
    return catalog.update(db, user, dataset_id, data)


@router.delete("/{dataset_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_dataset(
    dataset_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> Response:
    catalog.delete(db, settings, user, dataset_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{dataset_id}/manifest")
def get_manifest(
    dataset_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> dict:
    """The normalized manifest: every image, its split and its annotations."""
    return catalog.manifest(db, settings, user, dataset_id)


@router.get("/{dataset_id}/images", response_model=DatasetImagePage)
def list_dataset_images(
    dataset_id: uuid.UUID,
    user: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    page: Annotated[PageParams, Depends()],
    split: Split | None = None,
    class_name: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=255,
            description="only images of this class: their label, or any of their annotations",
        ),
    ] = None,
) -> DatasetImagePage:
    """A page of the dataset's images in path order, for a gallery: each with its split,
    size, annotations as the manifest holds them (boxes, polygons, RLE masks, keypoints,
    in the stored image's pixels, with their class names), a signed URL of its JPEG
    thumbnail and one of the original. 409 `not_ready` while the dataset has no
    manifest; 422 `unknown_class` for a class the dataset does not have."""
    return gallery.page(db, settings, user, dataset_id, page, split=split, class_name=class_name)


@router.post("/{dataset_id}/split", response_model=DatasetRead)
def resplit_dataset(
    dataset_id: uuid.UUID,
    data: ResplitRequest,
    user: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
) -> object:
    return catalog.resplit(db, settings, user, dataset_id, data)


@router.get("/{dataset_id}/snapshots", response_model=list[SnapshotRead])
def list_snapshots(dataset_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> object:
    return snapshots.list_for(db, user, dataset_id)


@router.post(
    "/{dataset_id}/snapshots", response_model=SnapshotRead, status_code=status.HTTP_201_CREATED
)
def create_snapshot(
    dataset_id: uuid.UUID,
    data: SnapshotCreate,
    user: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
) -> object:
    dataset = catalog.get(db, user, dataset_id)
    return snapshots.create(db, settings, user, dataset, "manual", data.version_tag)


@router.get("/{dataset_id}/snapshots/{snapshot_id}", response_model=SnapshotRead)
def get_snapshot(
    dataset_id: uuid.UUID, snapshot_id: uuid.UUID, user: CurrentUser, db: SessionDep
) -> object:
    return snapshots.get(db, user, dataset_id, snapshot_id)


@router.post("/{dataset_id}/snapshots/{snapshot_id}/verify", response_model=SnapshotRead)
def verify_snapshot(
    dataset_id: uuid.UUID,
    snapshot_id: uuid.UUID,
    user: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    deep: bool = False,
) -> object:
    """Check every file of the snapshot (`deep`: re-hash every byte); `broken` if any
    went missing or changed."""
    return snapshots.verify(db, settings, snapshots.get(db, user, dataset_id, snapshot_id), deep)
