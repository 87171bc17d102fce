"""Which table holds each kind of job."""

from __future__ import annotations

from typing import Any

from api.db.models import DiagnosticJob, ExportJob, InferenceJob, JobKind, TestRun, TrainingJob

JOB_MODELS: dict[JobKind, Any] = {
    JobKind.TRAINING: TrainingJob,
    JobKind.TEST_RUN: TestRun,
    JobKind.INFERENCE: InferenceJob,
    JobKind.EXPORT: ExportJob,
    JobKind.DIAGNOSTIC: DiagnosticJob,
}


def kind_of(job: Any) -> JobKind:
    for kind, model in JOB_MODELS.items():
        if isinstance(job, model):
            return kind
    raise TypeError(f"{type(job).__name__} is not a job")


def find(db: Any, job_id: Any) -> Any | None:
    """The job with `job_id`, whatever its kind (ids are unique across kinds), or None."""
    for model in JOB_MODELS.values():
        job = db.get(model, job_id)
        if job is not None:
            return job
    return None
