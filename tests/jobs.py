"""Jobs as the dispatcher leaves them, written straight to the database: for tests of
callbacks, streams and the reconciler that need no worker to start."""

from __future__ import annotations

import uuid
from typing import Any

from api.db.models import DiagnosticJob, JobStatus
from api.db.session import new_session
from api.services.jobs import events


def diagnostic_job(user_id: str, heartbeats: int = 0, **fields: Any) -> uuid.UUID:
    """A diagnostic job (default: queued, attempt 1) with `heartbeats` heartbeat events."""
    values: dict[str, Any] = {"status": JobStatus.QUEUED, "attempt": 1} | fields
    with new_session() as db:
        job = DiagnosticJob(
            user_id=uuid.UUID(user_id), task_type="diagnostic", framework="none", **values
        )
        db.add(job)
        db.flush()
        for i in range(heartbeats):
            events.append(db, job, "heartbeat", {"progress": i})
        db.commit()
        return job.id
