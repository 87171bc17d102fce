"""Test runs: a trained model measured on a labelled dataset. The function sends its
metrics once, at the end, as a validation, and says where its results lie."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.db.models import JobKind, TestRun
from api.services.jobs import events
from api.services.jobs.kinds.base import JobKindSpec
from api.services.jobs.kinds.results import record_results
from contract.jobs import Validation


def _validation(db: Session, job: TestRun, body: Validation) -> None:
    """The run's measured metrics; a test run has no "best"."""
    job.overall_metrics = {**body.metrics, body.primary_metric_name: body.primary_metric_value}
    job.per_class_metrics = body.per_class_metrics
    job.confusion_matrix = body.confusion_matrix
    job.pr_curves = body.pr_curves
    events.append(db, job, "metrics", {"primary": {body.primary_metric_name:
                  body.primary_metric_value}, "metrics": body.metrics})  # fmt: skip


SPEC = JobKindSpec(
    kind=JobKind.TEST_RUN,
    model=TestRun,
    inputs=("snapshot", "checkpoint"),
    on_results=record_results,
    on_validation=_validation,
)
