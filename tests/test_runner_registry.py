"""A runner is one module and its line in RUNNERS: nothing else names it. A runner
registered at run time (here a real one, in this file, that starts functions as child
processes of the test) is accepted wherever a request names a runner and dispatches
real jobs that call the API back; the names and settings the API knows are the
registry's."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.deps import current_settings
from api.services.jobs.runners import (
    RUNNERS,
    Runner,
    RunnerUnavailable,
    register_runner,
)
from api.services.jobs.runners.base import RunState, read_report
from api.services.jobs.runners.docker import DockerRunner
from api.services.jobs.runners.local import worker_environment
from api.settings import Settings, get_settings
from contract.capabilities import WorkerCapabilities
from contract.jobs import JobSpec


class ChildProcessRunner(Runner):
    """`python -m functions SPEC_FILE` as a child of whoever dispatches; its pid is the
    reference. Everything a runner needs, outside the runners package."""

    name = "test-child-process"

    def submit(self, spec: JobSpec) -> str:
        folder = Path(self.settings.data_dir).resolve() / "child-process-runner" / spec.job_id
        folder.mkdir(parents=True, exist_ok=True)
        spec_file = folder / f"attempt-{spec.attempt}.json"
        spec_file.write_text(spec.model_dump_json())
        with open(folder / f"attempt-{spec.attempt}.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "functions", str(spec_file)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=worker_environment(),
                cwd=folder,
                start_new_session=True,
            )
        _children[str(proc.pid)] = proc
        return str(proc.pid)

    def cancel(self, ref: str) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(ref), signal.SIGKILL)
        if ref in _children:
            _children[ref].wait(timeout=10)

    def status(self, ref: str) -> RunState:
        proc = _children.get(ref)
        if proc is None:
            return "unknown"
        return "running" if proc.poll() is None else "exited"

    def capabilities(self) -> WorkerCapabilities:
        done = subprocess.run(
            [sys.executable, "-m", "functions", "capabilities"],
            capture_output=True,
            text=True,
            env=worker_environment(),
            check=False,
        )
        if done.returncode != 0:
            raise RunnerUnavailable(done.stderr[-300:])
        return read_report(done.stdout, "a child process")


_children: dict[str, subprocess.Popen[bytes]] = {}


@pytest.fixture()
def child_runner() -> Iterator[str]:
    register_runner(ChildProcessRunner)
    try:
        yield ChildProcessRunner.name
    finally:
        RUNNERS.pop(ChildProcessRunner.name, None)
        for proc in _children.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        _children.clear()


@pytest.fixture()
def calling_back(app, live_server) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The in-process API, its workers calling back to the live server (same database)."""
    settings = get_settings().model_copy(update={"api_base_url": live_server})
    app.dependency_overrides[current_settings] = lambda: settings
    try:
        yield
    finally:
        app.dependency_overrides.pop(current_settings)


def _wait(client, user, job_id: str, status: str) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/diagnostics/jobs/{job_id}", headers=user.headers).json()
        if job["status"] == status:
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} is {job['status']}, not {status}: {job['error_message']}")


def test_a_runner_registered_at_run_time_runs_a_job_sent_through_the_api(
    client, make_user, child_runner, calling_back
):
    user = make_user("engineer_i")
    r = client.post(
        "/api/v1/diagnostics/jobs",
        json={"runner": child_runner, "heartbeats": 2, "interval": 0.05},
        headers=user.headers,
    )
    assert r.status_code == 201, r.text
    job = r.json()
    assert (job["runner"], job["status"]) == (child_runner, "queued")
    (pid,) = _children  # this runner, not the local one, started the worker
    _wait(client, user, job["id"], "completed")
    assert _children[pid].wait(timeout=20) == 0
    events = client.get(
        f"/api/v1/jobs/{job['id']}/events", params={"after": 0}, headers=user.headers
    ).json()
    statuses = [e["data"]["status"] for e in events["events"] if e["type"] == "status"]
    assert statuses == ["pending", "queued", "running", "completed"]


def test_cancel_reaches_a_runner_registered_at_run_time(
    client, make_user, child_runner, calling_back
):
    user = make_user("engineer_i")
    job = client.post(
        "/api/v1/diagnostics/jobs",
        json={"runner": child_runner, "heartbeats": 1000, "interval": 0.1},
        headers=user.headers,
    ).json()
    _wait(client, user, job["id"], "running")
    r = client.post(f"/api/v1/diagnostics/jobs/{job['id']}/cancel", headers=user.headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    (proc,) = _children.values()
    assert proc.poll() is not None  # its cancel stopped the worker


def test_a_name_no_runner_has_is_refused_in_the_common_shape(client, make_user):
    user = make_user("engineer_i")
    assert ChildProcessRunner.name not in RUNNERS
    for path in ("/api/v1/diagnostics/jobs", "/api/v1/training/jobs"):
        r = client.post(path, json={"runner": ChildProcessRunner.name}, headers=user.headers)
        assert r.status_code == 422, (path, r.text)
        error = r.json()["error"]
        assert error["code"] == "validation_error"
        assert {"loc": ["body", "runner"], "type": "literal_error"}.items() <= next(
            d for d in error["details"] if d["loc"][-1] == "runner"
        ).items()
    with pytest.raises(ValueError, match="execution_backend"):
        Settings(execution_backend=ChildProcessRunner.name)


def test_the_names_the_api_lists_and_accepts_are_the_registrys(client, make_user):
    user = make_user()
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for model in ("DiagnosticJobCreate", "TrainingJobCreate", "TestRunCreate"):
        (named,) = [s for s in schemas[model]["properties"]["runner"]["anyOf"] if "enum" in s]
        assert named["enum"] == list(RUNNERS), model
    listed = client.get("/api/v1/runners", headers=user.headers).json()
    assert [r["name"] for r in listed] == sorted(RUNNERS)


def test_every_runner_s_settings_are_read_through_the_one_settings_class(monkeypatch):
    for runner in RUNNERS.values():
        for field in runner.settings_model.model_fields:
            assert field in Settings.model_fields, (runner.name, field)
    monkeypatch.setenv("DOCKER_IMAGE", "vap-worker:from-the-environment")
    settings = Settings()
    assert DockerRunner(settings).config.docker_image == "vap-worker:from-the-environment"
