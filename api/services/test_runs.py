"""Test runs: a trained model measured on a labelled dataset (functions/evaluate.py)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from api.db.models import Dataset, TestRun, User
from api.schemas.common import Page, PageParams
from api.schemas.evaluation import ResultsPage, TestRunCreate, TestRunRead
from api.services import model_jobs, ownership, results
from api.services.jobs import capabilities, slots
from api.services.pagination import paginate
from api.settings import Settings


def create(db: Session, settings: Settings, user: User, req: TestRunCreate) -> TestRun:
    trained, checkpoint = model_jobs.source(db, user, req.training_job_id, req.checkpoint)
    admitted = capabilities.require(settings, req.runner, framework=trained.framework, gpu=req.gpu)
    slots.bound(settings, user, req)
    slots.check(db, settings, user)
    dataset, snapshot = model_jobs.dataset_snapshot(
        db, settings, user, req.dataset_id, trained, labelled=True
    )
    job = TestRun(
        **model_jobs.fields_of(user, trained, checkpoint, req.enable_xai),
        **req.job_fields(admitted),
        dataset_id=dataset.id,
        dataset_snapshot_id=snapshot.id,
        total_images=snapshot.num_images,
        config={
            "split": req.split,
            "checkpoint": req.checkpoint,
            "model_name": trained.model_name,
            "max_visualizations": req.max_visualizations,
            "enable_xai": req.enable_xai,
        },
    )
    return model_jobs.start(db, settings, job)  # type: ignore[no-any-return]


def read(job: TestRun) -> TestRunRead:
    out = TestRunRead.model_validate(job)
    out.has_results = job.results_key is not None
    return out


def list_for(
    db: Session,
    user: User,
    page: PageParams,
    training_job_id: uuid.UUID | None = None,
    status: str | None = None,
) -> Page[TestRunRead]:
    query = ownership.visible_to(user, TestRun)
    if training_job_id:
        query = query.where(TestRun.training_job_id == training_job_id)
    if status:
        query = query.where(TestRun.status == status)
    return paginate(db, query, page, TestRunRead, TestRun.created_at.desc(), TestRun.id)


def results_page(
    db: Session, settings: Settings, job: TestRun, offset: int, limit: int, wrong_only: bool
) -> ResultsPage:
    """A page of the run's per-image results (its wrong ones only, with `wrong_only`),
    each linked to its image in the dataset it ran on. Conflict before there are any."""
    dataset = db.get(Dataset, job.dataset_id)
    prefix = f"{dataset.storage_prefix}files/" if dataset and dataset.storage_prefix else None
    return results.page(settings, job, offset, limit, wrong_only=wrong_only, files_prefix=prefix)
