"""Pretrained weights: upload your own (hubs are out of reach in air-gapped installs),
browse, change, download, delete. Training jobs start from them."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile, status
from pydantic import ValidationError

from api.deps import CurrentUser, SessionDep, SettingsDep
from api.errors import invalid_form
from api.schemas.common import FRAMEWORK_ENUM, Page, PageParams, TaskType
from api.schemas.weights import Visibility, WeightDownload, WeightMeta, WeightRead, WeightUpdate
from api.services import weights

router = APIRouter(prefix="/api/v1/pretrained-weights", tags=["pretrained weights"])


def _meta(fields: dict[str, Any]) -> WeightMeta:
    """Form fields as a WeightMeta; 422 in the common shape when they do not fit."""
    try:
        return WeightMeta.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise invalid_form(exc) from None


@router.post("", response_model=WeightRead, status_code=status.HTTP_201_CREATED)
def upload_weights(
    user: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="One .safetensors, .pt, .pth or .bin file")],
    name: Annotated[str, Form()],
    framework: Annotated[
        str,
        Form(
            description="A catalog framework (GET /api/v1/models)",
            json_schema_extra=FRAMEWORK_ENUM,
        ),
    ],
    base_architecture: Annotated[str, Form(description="A catalog model of that framework")],
    task_types: Annotated[
        str | None, Form(description="JSON list or comma list; default: the model's tasks")
    ] = None,
    description: Annotated[str | None, Form()] = None,
    pretraining_dataset: Annotated[str | None, Form()] = None,
    num_classes: Annotated[str | None, Form()] = None,
    visibility: Annotated[
        str | None, Form(description="private (default); public needs the manager role")
    ] = None,
) -> object:
    """Upload weights a training job can start from. Their bytes are checked (a
    safetensors header, or what torch.save writes); anything else is refused with 422
    `invalid_weights` and nothing kept."""
    meta = _meta(
        {
            "name": name, "framework": framework, "base_architecture": base_architecture,
            "task_types": task_types, "description": description,
            "pretraining_dataset": pretraining_dataset, "num_classes": num_classes,
            "visibility": visibility,
        }
    )  # fmt: skip
    return weights.create_from_upload(
        db, settings, user, meta, file.filename or "weights", file.file
    )


@router.get("", response_model=Page[WeightRead])
def list_weights(
    user: CurrentUser,
    db: SessionDep,
    page: Annotated[PageParams, Depends()],
    framework: str | None = None,
    base_architecture: str | None = None,
    task_type: TaskType | None = None,
    visibility: Visibility | None = None,
) -> Page[WeightRead]:
    """Your weights and public ones, newest first."""
    return weights.list_for(
        db,
        user,
        page,
        framework=framework,
        base_architecture=base_architecture,
        task_type=task_type,
        visibility=visibility,
    )


@router.get("/{weight_id}", response_model=WeightRead)
def get_weights(weight_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> object:
    return weights.readable(db, user, weight_id)


@router.patch("/{weight_id}", response_model=WeightRead)
def update_weights(
    weight_id: uuid.UUID, data: WeightUpdate, user: CurrentUser, db: SessionDep
) -> object:
    return weights.update(db, user, weight_id, data)


@router.delete("/{weight_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_weights(
    weight_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> Response:
    weights.delete(db, settings, user, weight_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{weight_id}/download", response_model=WeightDownload)
def download_weights(
    weight_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> WeightDownload:
    """A presigned URL for the file (no other credentials needed) and its sha256."""
    return weights.download(db, settings, user, weight_id)
