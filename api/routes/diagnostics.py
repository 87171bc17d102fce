"""Diagnostic jobs: run the dispatch path end to end on any runner."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from api.db.models import DiagnosticJob
from api.deps import CurrentUser, SessionDep, SettingsDep
from api.schemas.jobs import DiagnosticJobCreate, DiagnosticJobRead
from api.services import ownership
from api.services.jobs import diagnostics, lookup

router = APIRouter(prefix="/api/v1/diagnostics/jobs", tags=["diagnostics"])


@router.post("", response_model=DiagnosticJobRead, status_code=status.HTTP_201_CREATED)
def create_diagnostic_job(
    data: DiagnosticJobCreate, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    return diagnostics.create(db, settings, user, data)


@router.get("/{job_id}", response_model=DiagnosticJobRead)
def get_diagnostic_job(job_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> object:
    return ownership.get_for_read(db, DiagnosticJob, job_id, user)


@router.post("/{job_id}/cancel", response_model=DiagnosticJobRead)
def cancel_diagnostic_job(
    job_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    return lookup.cancel(db, settings, user, DiagnosticJob, job_id)
