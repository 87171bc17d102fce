"""Handing a job to a runner: a new attempt, its callback token, the spec, the submit.

A runner that cannot take the job fails it at once, with the runner's reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from api.db.models import JobAttempt, JobStatus
from api.services.jobs import events, tokens, transitions
from api.services.jobs.kinds import KINDS, kind_of
from api.services.jobs.kinds.base import JobRow
from api.services.jobs.runners import RunnerUnavailable, get_runner
from api.settings import Settings
from contract.jobs import JobSpec, Resources, Resume

J = TypeVar("J", bound=JobRow)

_TOKEN_SLACK_SECONDS = 3600  # the token outlives the job's own timeout by this much


def submit(db: Session, settings: Settings, job: J) -> J:
    """Start a new attempt of `job` on its runner (job.runner, else the default) and
    commit. The job ends `queued`, or `failed` saying why the runner refused it. Its
    inputs are presigned afresh for every attempt (`jobs/inputs.py`)."""
    from api.services.jobs import inputs

    kind = kind_of(job)
    facts = KINDS[kind]
    job.attempt = (job.attempt or 0) + 1
    job.last_callback_seq = 0
    job.runner = job.runner or settings.execution_backend
    resources = Resources.model_validate(job.resources or {})
    spec = JobSpec(
        job_id=str(job.id),
        kind=kind.value,  # type: ignore[arg-type]
        attempt=job.attempt,
        framework=job.framework,
        model=facts.model_name(job),
        task_type=job.task_type,
        config=job.config or {},
        inputs=inputs.for_job(db, settings, job),
        callback_url=f"{settings.api_base_url.rstrip('/')}/api/v1/jobs/{job.id}",
        callback_token=tokens.create(
            settings, job.id, kind, job.attempt, resources.timeout_seconds + _TOKEN_SLACK_SECONDS
        ),
        resources=resources,
        resume=_resume_point(settings, facts.resume_from(job)),
    )
    try:
        ref = get_runner(job.runner, settings).submit(spec)
    except RunnerUnavailable as exc:
        error = f"Runner {job.runner!r} could not start the job: {exc}"
        transitions.end(db, job, JobStatus.FAILED, datetime.now(UTC), error=error)
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


def _resume_point(settings: Settings, saved: tuple[str, int] | None) -> Resume | None:
    """The last checkpoint an earlier attempt saved (key, epoch), as a presigned URL."""
    if saved is None:
        return None
    from api.services.storage import get_storage

    key, epoch = saved
    return Resume(checkpoint_url=get_storage(settings).presign_get(key), epoch=epoch)
