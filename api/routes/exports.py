"""Export jobs: a checkpoint to ONNX (and more), validated, versioned and packaged."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from api.db.models import ExportJob
from api.deps import CurrentUser, SessionDep, SettingsDep
from api.schemas.common import FRAMEWORK_ENUM, Page, PageParams
from api.schemas.exports import (
    Capabilities,
    ExportDownload,
    ExportJobCreate,
    ExportJobRead,
    ExportJobUpdate,
)
from api.services import exports, ownership
from api.services.jobs import capabilities, lookup
from api.services.jobs.runners import RunnerName

router = APIRouter(prefix="/api/v1/export", tags=["export"])


@router.get("/capabilities", response_model=Capabilities)
def export_capabilities(
    user: CurrentUser,
    settings: SettingsDep,
    framework: Annotated[str | None, Query(json_schema_extra=FRAMEWORK_ENUM)] = None,
    runner: RunnerName | None = None,
) -> object:
    """Per framework and format, on `runner`'s workers (default: the installation's
    runner): supported or not, natively or via ONNX, and for what is missing, why (a
    toolchain not installed, no NVIDIA GPU, macOS only); with when they reported it."""
    name = capabilities.runner_for(settings, runner)
    return capabilities.view(capabilities.stored(settings, name), framework)


@router.post("/jobs", response_model=ExportJobRead, status_code=status.HTTP_201_CREATED)
def create_export_job(
    data: ExportJobCreate, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    """Export a training job's best (or last) checkpoint. The job optimises (INT8, FP16)
    when asked, evaluates the exported model on the validation split next to the
    checkpoint and fails when the metric drops more than `max_metric_drop`, then
    packages it. Each export of a training job gets the next version number."""
    return exports.read(exports.create(db, settings, user, data))


@router.get("/jobs", response_model=Page[ExportJobRead])
def list_export_jobs(
    user: CurrentUser,
    db: SessionDep,
    page: Annotated[PageParams, Depends()],
    training_job_id: uuid.UUID | None = None,
) -> object:
    return exports.list_for(db, user, page, training_job_id)


@router.get("/jobs/{export_job_id}", response_model=ExportJobRead)
def get_export_job(export_job_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> object:
    return exports.read(ownership.get_for_read(db, ExportJob, export_job_id, user))


@router.patch("/jobs/{export_job_id}", response_model=ExportJobRead)
def update_export_job(
    export_job_id: uuid.UUID, data: ExportJobUpdate, user: CurrentUser, db: SessionDep
) -> object:
    """Set or clear the version tag ("production", "v1.2", ...)."""
    return exports.read(exports.update_tag(db, user, export_job_id, data))


@router.post("/jobs/{export_job_id}/set-default", response_model=ExportJobRead)
def set_default_export(export_job_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> object:
    """Make this completed export its training job's one default."""
    return exports.read(exports.set_default(db, user, export_job_id))


@router.post("/jobs/{export_job_id}/cancel", response_model=ExportJobRead)
def cancel_export_job(
    export_job_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    return exports.read(lookup.cancel(db, settings, user, ExportJob, export_job_id))


@router.delete("/jobs/{export_job_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_export_job(
    export_job_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> Response:
    """Delete an ended export and its files; 409 while a deployment uses it."""
    exports.delete(db, settings, user, export_job_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/jobs/{export_job_id}/download", response_model=ExportDownload)
def download_export(
    export_job_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    """A presigned, expiring URL of the package: model, metadata.json, runtime, README."""
    return exports.download(db, settings, user, export_job_id)
