"""Diagnostic jobs: run the dispatch path end to end on any runner."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from fastapi import APIRouter, status

from api.deps import CurrentUser, SessionDep, SettingsDep
from api.lazy import lazy_module
from api.schemas.jobs import DiagnosticJobCreate, DiagnosticJobRead

if TYPE_CHECKING:
    from api.services import ownership
    from api.services.jobs import diagnostics, lookup
else:
    diagnostics = lazy_module("api.services.jobs.diagnostics")
    lookup = lazy_module("api.services.jobs.lookup")
    ownership = lazy_module("api.services.ownership")

router = APIRouter(prefix="/api/v1/diagnostics/jobs", tags=["diagnostics"])


def _model():  # type: ignore[no-untyped-def]
    from api.db.models import DiagnosticJob

    return DiagnosticJob


@router.post("", response_model=DiagnosticJobRead, status_code=status.HTTP_201_CREATED)
def create_diagnostic_job(
    data: DiagnosticJobCreate, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    return diagnostics.create(db, settings, user, data)


@router.get("/{job_id}", response_model=DiagnosticJobRead)
def get_diagnostic_job(job_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> object:
    return ownership.get_for_read(db, _model(), job_id, user)


@router.post("/{job_id}/cancel", response_model=DiagnosticJobRead)
def cancel_diagnostic_job(
    job_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    return lookup.cancel(db, settings, user, _model(), job_id)
