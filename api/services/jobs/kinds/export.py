"""Export jobs: a trained model in a deployable format. The function reports where the
exported model lies (the "export" event); a success without one is a failure."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.db.models import ExportJob, JobKind
from api.services.jobs.kinds.base import Data, JobKindSpec
from api.settings import Settings
from contract.jobs import Done


def _record_export(settings: Settings, job: ExportJob, data: Data) -> None:
    from api.services import exports

    exports.record_artifacts(job, data)


def _done(db: Session, job: ExportJob, body: Done) -> str | None:
    if body.status != "completed":
        return None
    if not job.export_key:  # a function bug; the export is unusable, so say so
        return "The export function ended without reporting a model"
    from api.services import exports

    exports.completed(db, job)
    return None


SPEC = JobKindSpec(
    kind=JobKind.EXPORT,
    model=ExportJob,
    inputs=("snapshot", "checkpoint"),
    artifact_prefix="exports/{id}/",
    on_export=_record_export,
    on_done=_done,
)
