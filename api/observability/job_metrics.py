"""Jobs by status, read from the database at scrape time, not kept in process: the API
is stateless and any replica must report the same numbers.

The /metrics route's module registers it (api/routes/operations.py): the app itself
starts without SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from api.db.models import ExportJob, InferenceJob, JobKind, TestRun, TrainingJob
from api.db.session import new_session


class JobsByStatus(Collector):
    """Counts jobs in the database at scrape time: every API replica reports the truth."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Without describe(), registering would call collect() and open a connection.
        yield GaugeMetricFamily("vap_jobs", "Jobs by kind and status.", labels=["kind", "status"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "vap_jobs", "Jobs by kind and status.", labels=["kind", "status"]
        )
        tables: dict[JobKind, Any] = {
            JobKind.TRAINING: TrainingJob,
            JobKind.TEST_RUN: TestRun,
            JobKind.INFERENCE: InferenceJob,
            JobKind.EXPORT: ExportJob,
        }
        try:
            with new_session() as db:
                for kind, model in tables.items():
                    rows = db.execute(select(model.status, func.count()).group_by(model.status))
                    for status, count in rows:
                        family.add_metric([kind.value, str(status.value)], count)
        except Exception:  # a scrape must not fail because the database blinked
            pass
        yield family


def register(registry: CollectorRegistry) -> None:
    """Report jobs by status in `registry`'s scrapes (call once per registry)."""
    registry.register(JobsByStatus())
