"""Jobs of every kind: find one by id, list them together, cancel, follow events, wait."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from vap_client import events as _events
from vap_client.errors import NotFound
from vap_client.models import (
    DiagnosticJob,
    EventsPage,
    ExportJob,
    InferenceJob,
    Job,
    JobEvent,
    TestRun,
    TrainingJob,
)
from vap_client.transport import Transport

# Where each kind of job is read: ids are unique across kinds, but there is no one route.
JOB_KINDS: dict[str, tuple[str, type[Job]]] = {
    "training": ("/api/v1/training/jobs", TrainingJob),
    "test_run": ("/api/v1/test-runs", TestRun),
    "inference": ("/api/v1/inference/jobs", InferenceJob),
    "export": ("/api/v1/export/jobs", ExportJob),
    "diagnostic": ("/api/v1/diagnostics/jobs", DiagnosticJob),
}
# Kinds a user lists (diagnostic jobs have no list route).
LISTED_KINDS = ("training", "test_run", "inference", "export")


class JobsAPI(Transport):
    def get_job(self, job_id: str) -> tuple[str, Job]:
        """The job with this id, whatever its kind: (kind, job). NotFound when none."""
        for kind, (path, model) in JOB_KINDS.items():
            try:
                return kind, self.get_as(model, f"{path}/{job_id}")
            except NotFound:
                continue
        raise NotFound(404, "not_found", f"Job {job_id} not found")

    def list_jobs(
        self, kinds: tuple[str, ...] = LISTED_KINDS, *, limit: int = 50
    ) -> list[tuple[str, Job]]:
        """The newest jobs of the given kinds together, newest first."""
        found: list[tuple[str, Job]] = []
        for kind in kinds:
            path, model = JOB_KINDS[kind]
            found += [(kind, j) for j in self.page_of(model, path, limit=limit).items]
        found.sort(
            key=lambda kj: kj[1].created_at.timestamp() if kj[1].created_at else 0, reverse=True
        )
        return found[:limit]

    def cancel_job(self, job_id: str) -> Job:
        """Cancel a job of any kind; Conflict (`job_ended`) when it already ended."""
        return self.post_as(Job, f"/api/v1/jobs/{job_id}/cancel")

    def events(
        self,
        job_id: str,
        last_event_id: int | str | None = None,
        *,
        on_reconnect: Callable[[int, Exception | None], None] | None = None,
        give_up_after: float = 300.0,
    ) -> Iterator[JobEvent]:
        """The job's events after `last_event_id`, live over Server-Sent Events, until the
        job ends. A dropped connection is resumed with Last-Event-ID: no event is missed or
        repeated."""
        return _events.follow(
            self, job_id, last_event_id, on_reconnect=on_reconnect, give_up_after=give_up_after
        )

    def events_page(self, job_id: str, after: int = 0) -> EventsPage:
        """The events after `after` as JSON (no streaming), and whether the job ended."""
        return _events.events_page(self, job_id, after)

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_event: Callable[[JobEvent], None] | None = None,
    ) -> Job:
        """Follow the job until it ends and return it as it ended (its kind's model)."""
        _events.wait(self, job_id, timeout=timeout, on_event=on_event)
        return self.get_job(job_id)[1]

    def stream_token(self, job_id: str) -> dict[str, Any]:
        """A 5-minute token for `?token=` on the events stream (for browsers)."""
        return self.post_as(dict, f"/api/v1/jobs/{job_id}/stream-token")

    def create_diagnostic_job(self, **options: Any) -> DiagnosticJob:
        """A job that only sends heartbeats (`heartbeats`, `interval`, `fail`): it checks
        the whole path from runner to callbacks to events."""
        return self.post_as(DiagnosticJob, "/api/v1/diagnostics/jobs", options)
