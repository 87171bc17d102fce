"""Inference jobs: a trained model's predictions on a dataset's images or on images
uploaded with the request (functions/infer.py). No ground truth, no metrics."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from api.db.models import InferenceJob, InferenceType, User
from api.errors import BadRequest, Unprocessable
from api.schemas.common import Page, PageParams
from api.schemas.evaluation import InferenceJobCreate, InferenceJobRead, InferenceOptions
from api.services import model_jobs, ownership
from api.services.datasets.images import inspect_image
from api.services.jobs import capabilities, slots
from api.services.pagination import paginate
from api.services.storage import get_storage
from api.services.uploaded_files import safe_name, save_stream
from api.settings import Settings

MAX_UPLOAD_IMAGES = 100
MAX_IMAGE_BYTES = 50 * 1024 * 1024


def _config(opts: InferenceOptions, model_name: str, split: str | None = None) -> dict:
    return {
        "checkpoint": opts.checkpoint,
        "confidence": opts.confidence,
        "top_k": opts.top_k,
        "max_visualizations": opts.max_visualizations,
        "enable_xai": opts.enable_xai,
        "model_name": model_name,
        "split": split,
    }


def create_for_dataset(
    db: Session, settings: Settings, user: User, req: InferenceJobCreate
) -> InferenceJob:
    trained, checkpoint = model_jobs.source(db, user, req.training_job_id, req.checkpoint)
    admitted = capabilities.require(settings, req.runner, framework=trained.framework, gpu=req.gpu)
    slots.bound(settings, user, req)
    slots.check(db, settings, user)
    dataset, snapshot = model_jobs.dataset_snapshot(
        db, settings, user, req.dataset_id, trained, labelled=False
    )
    job = InferenceJob(
        **model_jobs.fields_of(user, trained, checkpoint, req.enable_xai),
        **req.job_fields(admitted),
        inference_type=InferenceType.DATASET,
        dataset_id=dataset.id,
        dataset_snapshot_id=snapshot.id,
        total_images=snapshot.num_images,
        config=_config(req, trained.model_name, req.split),
    )
    return model_jobs.start(db, settings, job)  # type: ignore[no-any-return]


def create_for_upload(
    db: Session,
    settings: Settings,
    user: User,
    training_job_id: uuid.UUID,
    opts: InferenceOptions,
    files: list[tuple[str, BinaryIO]],
) -> InferenceJob:
    """Store the images (each one decoded first: a file that is not an image, or is
    over the pixel limit, answers 422 and nothing is kept) and start the job."""
    trained, checkpoint = model_jobs.source(db, user, training_job_id, opts.checkpoint)
    capabilities.require(settings, None, framework=trained.framework)
    slots.check(db, settings, user)
    if not files:
        raise BadRequest("Send at least one image", code="no_images")
    if len(files) > MAX_UPLOAD_IMAGES:
        raise BadRequest(f"At most {MAX_UPLOAD_IMAGES} images per request", code="too_many_images")
    job_id = uuid.uuid4()
    storage = get_storage(settings)
    keys: list[str] = []
    with tempfile.TemporaryDirectory(prefix="vap-infer-") as tmp:
        local: list[tuple[str, Path]] = []
        for i, (name, stream) in enumerate(files):
            safe = f"{i:03d}-{safe_name(name, 'image')}"
            path = Path(tmp) / safe
            save_stream(stream, path, MAX_IMAGE_BYTES)
            try:
                inspect_image(path, settings.dataset_max_image_pixels)
            except ValueError as exc:
                raise Unprocessable(f"{name}: {exc}", code="bad_image") from None
            local.append((safe, path))
        for safe, path in local:  # every image was good: only now is anything stored
            key = f"results/{job_id}/inputs/{safe}"
            storage.put_file(key, path)
            keys.append(key)
    job = InferenceJob(
        **model_jobs.fields_of(user, trained, checkpoint, opts.enable_xai),
        id=job_id,
        inference_type=InferenceType.SINGLE if len(keys) == 1 else InferenceType.BATCH,
        image_keys=keys,
        total_images=len(keys),
        config=_config(opts, trained.model_name),
        max_attempts=2,
        resources={"timeout_seconds": 3600},
    )
    try:
        return model_jobs.start(db, settings, job)  # type: ignore[no-any-return]
    except Exception:
        storage.delete_prefix(f"results/{job_id}/")  # no row, no orphaned images
        raise


def read(job: InferenceJob) -> InferenceJobRead:
    out = InferenceJobRead.model_validate(job)
    out.has_results = job.results_key is not None
    return out


def list_for(
    db: Session, user: User, page: PageParams, training_job_id: uuid.UUID | None = None
) -> Page[InferenceJobRead]:
    query = ownership.visible_to(user, InferenceJob)
    if training_job_id:
        query = query.where(InferenceJob.training_job_id == training_job_id)
    return paginate(
        db, query, page, InferenceJobRead, InferenceJob.created_at.desc(), InferenceJob.id
    )
