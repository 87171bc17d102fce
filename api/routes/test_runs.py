"""Test runs: measure a trained model on a labelled dataset; per-image results."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from api.db.models import TestRun
from api.deps import CurrentUser, SessionDep, SettingsDep
from api.schemas.common import MAX_OFFSET, Page, PageParams
from api.schemas.evaluation import JobStatusName, ResultsPage, TestRunCreate, TestRunRead
from api.services import ownership, test_runs
from api.services.jobs import lookup

router = APIRouter(prefix="/api/v1/test-runs", tags=["test runs"])


@router.post("", response_model=TestRunRead, status_code=status.HTTP_201_CREATED)
def create_test_run(
    data: TestRunCreate, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    """Evaluate a training job's best (or last) checkpoint on a labelled dataset with the
    same classes: overall and per-class metrics, confusion matrix, PR curves, per-image
    results and drawn visualizations."""
    return test_runs.read(test_runs.create(db, settings, user, data))


@router.get("", response_model=Page[TestRunRead])
def list_test_runs(
    user: CurrentUser,
    db: SessionDep,
    page: Annotated[PageParams, Depends()],
    training_job_id: uuid.UUID | None = None,
    status: JobStatusName | None = None,
) -> object:
    return test_runs.list_for(db, user, page, training_job_id, status)


@router.get("/{test_run_id}", response_model=TestRunRead)
def get_test_run(test_run_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> object:
    return test_runs.read(ownership.get_for_read(db, TestRun, test_run_id, user))


@router.get("/{test_run_id}/results", response_model=ResultsPage)
def test_run_results(
    test_run_id: uuid.UUID,
    user: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    wrong_only: Annotated[
        bool, Query(description="only images whose prediction missed the truth")
    ] = False,
) -> object:
    """Per image: predictions, ground truth and their comparison, with links to the image
    and its visualization; 409 before there are any."""
    job = ownership.get_for_read(db, TestRun, test_run_id, user)
    return test_runs.results_page(db, settings, job, offset, limit, wrong_only)


@router.post("/{test_run_id}/cancel", response_model=TestRunRead)
def cancel_test_run(
    test_run_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    return test_runs.read(lookup.cancel(db, settings, user, TestRun, test_run_id))
