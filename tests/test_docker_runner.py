"""The Docker runner on a real engine: a job's function runs in a container of the
worker image and calls the API back; cancel stops the container; a GPU the engine
cannot give fails the job at once, leaving no container behind."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from api.db.models import DiagnosticJob, JobStatus, User
from api.db.session import new_session
from api.services.jobs import dispatch, lookup
from api.services.jobs.reconciler import reconcile
from api.settings import get_settings


@pytest.fixture()
def docker_settings(docker_engine, live_server, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DOCKER_HOST", docker_engine.host)
    return get_settings().model_copy(
        update={"api_base_url": live_server, "docker_image": docker_engine.image}
    )


def _job(user_id: str, resources: dict[str, Any] | None = None, **config: Any) -> uuid.UUID:
    with new_session() as db:
        job = DiagnosticJob(
            user_id=uuid.UUID(user_id), task_type="diagnostic", framework="none", runner="docker",
            config={"heartbeats": 3, "interval": 0.05, **config}, resources=resources,
            max_attempts=1,
        )  # fmt: skip
        db.add(job)
        db.commit()
        return job.id


def _submit(job_id: uuid.UUID, settings) -> DiagnosticJob:  # type: ignore[no-untyped-def]
    with new_session() as db:
        return dispatch.submit(db, settings, db.get(DiagnosticJob, job_id))  # type: ignore[no-any-return]


def _row(job_id: uuid.UUID) -> DiagnosticJob:
    with new_session() as db:
        return db.get(DiagnosticJob, job_id)  # type: ignore[return-value]


def _wait(job_id: uuid.UUID, status: JobStatus, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _row(job_id).status != status and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _row(job_id).status == status, _row(job_id).error_message


def test_a_job_runs_in_a_container_and_reports_back(docker_settings, docker_engine, make_user):
    user = make_user("engineer_i")
    job_id = _job(user.id)
    job = _submit(job_id, docker_settings)
    assert job.status == JobStatus.QUEUED and job.runner_ref == f"vap-job-{job_id}-a1"
    _wait(job_id, JobStatus.COMPLETED)
    deadline = time.monotonic() + 20
    while docker_engine.containers(f"vap.job={job_id}") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert docker_engine.containers(f"vap.job={job_id}") == []  # --rm: nothing left


def test_cancel_stops_the_container(docker_settings, docker_engine, make_user):
    user = make_user("engineer_i")
    job_id = _job(user.id, heartbeats=1000, interval=0.1)
    _submit(job_id, docker_settings)
    _wait(job_id, JobStatus.RUNNING)
    started = time.monotonic()
    with new_session() as db:
        lookup.cancel(db, docker_settings, db.get(User, uuid.UUID(user.id)), DiagnosticJob, job_id)
    assert time.monotonic() - started < 15
    assert docker_engine.containers(f"vap.job={job_id}") == []
    assert _row(job_id).status == JobStatus.CANCELLED


def test_a_gpu_the_engine_cannot_give_fails_the_job_at_once(
    docker_settings, docker_engine, make_user
):
    user = make_user("engineer_i")
    job_id = _job(user.id, resources={"gpu": "T4"})
    job = _submit(job_id, docker_settings)
    assert job.status == JobStatus.FAILED
    assert "asks for a GPU and this Docker engine has no NVIDIA runtime" in job.error_message
    assert docker_engine.containers(f"vap.job={job_id}") == []


def test_a_killed_container_is_found_by_the_reconciler(docker_settings, docker_engine, make_user):
    import subprocess

    user = make_user("engineer_i")
    job_id = _job(user.id, heartbeats=1000, interval=0.1)
    job = _submit(job_id, docker_settings)
    _wait(job_id, JobStatus.RUNNING)
    subprocess.run(
        ["docker", "kill", job.runner_ref], env=docker_engine.env, check=True, capture_output=True
    )
    with new_session() as db:
        summary = reconcile(db, docker_settings)
    assert str(job_id) in summary.failed
    assert "exited without reporting" in _row(job_id).error_message
