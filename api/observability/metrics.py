"""Prometheus metrics: requests by route, and jobs by status read from the database.

Job counts are read at scrape time, not kept in process: the API is stateless and
any replica must report the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "vap_http_requests_total",
    "HTTP requests by method, route template and status code.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "vap_http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)


class JobsByStatus(Collector):
    """Counts jobs in the database at scrape time: every API replica reports the truth."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Without describe(), registering would call collect() and open a connection.
        yield GaugeMetricFamily("vap_jobs", "Jobs by kind and status.", labels=["kind", "status"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from sqlalchemy import func, select

        from api.db.models import ExportJob, InferenceJob, JobKind, TestRun, TrainingJob
        from api.db.session import new_session

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


REGISTRY.register(JobsByStatus())
