"""The Docker runner on a real engine: a job's function runs in a container of the
worker image and calls the API back; cancel stops the container; a GPU the engine
cannot give fails the job at once, leaving no container behind."""

from __future__ import annotations

import time
import uuid

import pytest

from api.db.models import DiagnosticJob, JobStatus, User
from api.db.session import new_session
from api.services.jobs import lookup
from api.services.jobs.reconciler import reconcile
from api.settings import get_settings
from tests.jobs import job_to_dispatch, row, submit, wait_for_status


@pytest.fixture()
def docker_settings(docker_engine, live_server, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DOCKER_HOST", docker_engine.host)
    return get_settings().model_copy(
        update={"api_base_url": live_server, "docker_image": docker_engine.image}
    )


def test_a_job_runs_in_a_container_and_reports_back(docker_settings, docker_engine, make_user):
    user = make_user("engineer_i")
    job_id = job_to_dispatch(user.id, "docker", max_attempts=1)
    job = submit(job_id, docker_settings)
    assert job.status == JobStatus.QUEUED and job.runner_ref == f"vap-job-{job_id}-a1"
    wait_for_status(job_id, JobStatus.COMPLETED)
    deadline = time.monotonic() + 20
    while docker_engine.containers(f"vap.job={job_id}") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert docker_engine.containers(f"vap.job={job_id}") == []  # --rm: nothing left


def test_cancel_stops_the_container(docker_settings, docker_engine, make_user):
    user = make_user("engineer_i")
    job_id = job_to_dispatch(user.id, "docker", max_attempts=1, heartbeats=1000, interval=0.1)
    submit(job_id, docker_settings)
    wait_for_status(job_id, JobStatus.RUNNING)
    started = time.monotonic()
    with new_session() as db:
        lookup.cancel(db, docker_settings, db.get(User, uuid.UUID(user.id)), DiagnosticJob, job_id)
    assert time.monotonic() - started < 15
    assert docker_engine.containers(f"vap.job={job_id}", running_only=True) == []
    assert row(job_id).status == JobStatus.CANCELLED
    # `docker stop` returns once it has stopped; the engine removes it (--rm) just after.
    deadline = time.monotonic() + 10
    while docker_engine.containers(f"vap.job={job_id}") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert docker_engine.containers(f"vap.job={job_id}") == []


def test_a_gpu_the_engine_cannot_give_fails_the_job_at_once(
    docker_settings, docker_engine, make_user
):
    user = make_user("engineer_i")
    job_id = job_to_dispatch(user.id, "docker", resources={"gpu": "T4"}, max_attempts=1)
    job = submit(job_id, docker_settings)
    assert job.status == JobStatus.FAILED
    assert "asks for a GPU and this Docker engine has no NVIDIA runtime" in job.error_message
    assert docker_engine.containers(f"vap.job={job_id}") == []


def test_a_killed_container_is_found_by_the_reconciler(docker_settings, docker_engine, make_user):
    import subprocess

    user = make_user("engineer_i")
    job_id = job_to_dispatch(user.id, "docker", max_attempts=1, heartbeats=1000, interval=0.1)
    job = submit(job_id, docker_settings)
    wait_for_status(job_id, JobStatus.RUNNING)
    subprocess.run(
        ["docker", "kill", job.runner_ref], env=docker_engine.env, check=True, capture_output=True
    )
    with new_session() as db:
        summary = reconcile(db, docker_settings)
    assert str(job_id) in summary.failed
    assert "exited without reporting" in row(job_id).error_message


def test_the_image_reports_what_it_can_do_without_a_gpu_runtime(docker_settings):
    """The test image has the functions but no torch: its report says so. The engine
    has no NVIDIA runtime, so the runner asks again without `--gpus`, and the report
    lists no GPU, rather than failing."""
    from api.services.jobs.runners import get_runner

    report = get_runner("docker", docker_settings).capabilities()
    assert report.versions["torch"] is None and report.gpu.devices == []
    timm = report.frameworks["timm"]
    assert timm.supported is False and "torch" in timm.reason
    assert report.export["timm"]["onnx"].supported is False


def test_a_gpu_request_names_its_devices_or_its_count():
    from api.services.jobs.runners.docker import gpus_flag
    from contract.jobs import JobSpec, Resources

    def spec(**resources):  # type: ignore[no-untyped-def]
        return JobSpec(job_id="j", kind="training", attempt=1, callback_url="http://x",
                       callback_token="t", resources=Resources(**resources))  # fmt: skip

    assert gpus_flag(spec()) is None
    assert gpus_flag(spec(gpu="T4", gpu_devices=[0, 2])) == '"device=0,2"'
    assert gpus_flag(spec(gpu="any:3")) == "3"
