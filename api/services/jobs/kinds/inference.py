"""Inference jobs: predictions on unlabelled images or a dataset; no metrics."""

from __future__ import annotations

from api.db.models import InferenceJob, JobKind
from api.services.jobs.kinds.base import JobKindSpec
from api.services.jobs.kinds.results import record_results

SPEC = JobKindSpec(
    kind=JobKind.INFERENCE,
    model=InferenceJob,
    inputs=("snapshot", "checkpoint", "images"),
    on_results=record_results,
)
