"""Inference jobs: a trained model's predictions on a dataset or on uploaded images."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile, status

from api.db.models import InferenceJob
from api.deps import CurrentUser, SessionDep, SettingsDep
from api.schemas.common import MAX_OFFSET, Page, PageParams
from api.schemas.evaluation import (
    CheckpointName,
    InferenceJobCreate,
    InferenceJobRead,
    InferenceOptions,
    ResultsPage,
)
from api.services import inference, ownership, results
from api.services.jobs import lookup

router = APIRouter(prefix="/api/v1/inference", tags=["inference"])


@router.post("/jobs", response_model=InferenceJobRead, status_code=status.HTTP_201_CREATED)
def create_inference_job(
    data: InferenceJobCreate, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    """Predict on every image of a dataset (or one of its splits) with a training job's
    best or last checkpoint."""
    return inference.read(inference.create_for_dataset(db, settings, user, data))


@router.post("/upload", response_model=InferenceJobRead, status_code=status.HTTP_201_CREATED)
def upload_and_infer(
    user: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    training_job_id: Annotated[uuid.UUID, Form()],
    files: Annotated[list[UploadFile], File(description="one or more images")],
    checkpoint: Annotated[CheckpointName, Form()] = "best",
    confidence: Annotated[float, Form(ge=0, le=1)] = 0.25,
    top_k: Annotated[int, Form(ge=1, le=100)] = 5,
    enable_xai: Annotated[bool, Form()] = False,
) -> object:
    """The quick path: send images, get a job whose results are their predictions."""
    opts = InferenceOptions(
        checkpoint=checkpoint, confidence=confidence, top_k=top_k, enable_xai=enable_xai
    )
    uploads = [(f.filename or "image", f.file) for f in files]
    return inference.read(
        inference.create_for_upload(db, settings, user, training_job_id, opts, uploads)
    )


@router.get("/jobs", response_model=Page[InferenceJobRead])
def list_inference_jobs(
    user: CurrentUser,
    db: SessionDep,
    page: Annotated[PageParams, Depends()],
    training_job_id: uuid.UUID | None = None,
) -> object:
    return inference.list_for(db, user, page, training_job_id)


@router.get("/jobs/{inference_job_id}", response_model=InferenceJobRead)
def get_inference_job(inference_job_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> object:
    return inference.read(ownership.get_for_read(db, InferenceJob, inference_job_id, user))


@router.get("/jobs/{inference_job_id}/results", response_model=ResultsPage)
def inference_results(
    inference_job_id: uuid.UUID,
    user: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> object:
    """Per image: the predictions (contract/predictions.py); 409 before there are any."""
    job = ownership.get_for_read(db, InferenceJob, inference_job_id, user)
    return results.page(settings, job, offset, limit)


@router.post("/jobs/{inference_job_id}/cancel", response_model=InferenceJobRead)
def cancel_inference_job(
    inference_job_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    return inference.read(lookup.cancel(db, settings, user, InferenceJob, inference_job_id))
