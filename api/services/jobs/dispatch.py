"""Handing a job to a runner: a new attempt, its callback token, the spec, the submit.

A runner that cannot take the job fails it at once, with the runner's reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from api.db.models import JobAttempt, JobStatus
from api.services import webhooks
from api.services.jobs import events, tokens
from api.services.jobs.kinds import kind_of
from api.services.jobs.runners import RunnerUnavailable, get_runner
from api.settings import Settings
from contract.jobs import JobSpec, Resources, Resume

_TOKEN_SLACK_SECONDS = 3600  # the token outlives the job's own timeout by this much


def submit(db: Session, settings: Settings, job: Any) -> Any:
    """Start a new attempt of `job` on its runner (job.runner, else the default) and
    commit. The job ends `queued`, or `failed` saying why the runner refused it. Its
    inputs are presigned afresh for every attempt (`jobs/inputs.py`)."""
    from api.services.jobs import inputs

    kind = kind_of(job)
    job.attempt = (job.attempt or 0) + 1
    job.last_callback_seq = 0
    job.runner = job.runner or settings.execution_backend
    resources = Resources.model_validate(job.resources or {})
    spec = JobSpec(
        job_id=str(job.id),
        kind=kind.value,  # type: ignore[arg-type]
        attempt=job.attempt,
        framework=job.framework,
        model=getattr(job, "model_name", None),
        task_type=job.task_type,
        config=job.config or {},
        inputs=inputs.for_job(db, settings, job),
        callback_url=f"{settings.api_base_url.rstrip('/')}/api/v1/jobs/{job.id}",
        callback_token=tokens.create(
            settings, job.id, kind, job.attempt, resources.timeout_seconds + _TOKEN_SLACK_SECONDS
        ),
        resources=resources,
        resume=_resume_point(settings, job),
    )
    try:
        ref = get_runner(job.runner, settings).submit(spec)
    except RunnerUnavailable as exc:
        job.status = JobStatus.FAILED
        job.error_message = f"Runner {job.runner!r} could not start the job: {exc}"
        job.completed_at = datetime.now(UTC)
        events.append(db, job, "status", {"status": "failed", "error": job.error_message})
        webhooks.job_ended(db, job)
        db.commit()
        return job
    job.runner_ref = ref
    job.status = JobStatus.QUEUED
    resumed = spec.resume.epoch if spec.resume else None
    db.add(
        JobAttempt(
            job_id=job.id,
            job_kind=kind,
            attempt=job.attempt,
            runner=job.runner,
            runner_ref=ref,
            resumed_from_epoch=resumed,
        )
    )
    queued: dict[str, Any] = {"status": "queued", "runner": job.runner, "attempt": job.attempt}
    if resumed is not None:
        queued["resumed_from_epoch"] = resumed
    events.append(db, job, "status", queued)
    db.commit()
    return job


def _resume_point(settings: Settings, job: Any) -> Resume | None:
    """The last checkpoint an earlier attempt saved, as a presigned URL, if any."""
    key = getattr(job, "last_checkpoint_key", None)
    if not key:
        return None
    from api.services.storage import get_storage

    url = get_storage(settings).presign_get(key)
    return Resume(checkpoint_url=url, epoch=job.last_checkpoint_epoch or 0)
