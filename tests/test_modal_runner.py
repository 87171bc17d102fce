"""The Modal runner and modal_app.py. Modal's cloud cannot be reached from here: the
function bodies run in-process with `.local()`, and the runner talks to a thin
stand-in put where it looks Modal up. Without a token, the real client is used."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest

from api.db.models import DiagnosticJob, JobStatus
from api.db.session import new_session
from api.services.jobs import lookup
from api.services.jobs.runners import modal as modal_runner
from api.settings import get_settings
from tests.jobs import diagnostic_job, job_to_dispatch, row, submit, wait_for_status


class StandInModal:
    """Records what the runner asks of Modal and runs the function body locally."""

    def __init__(self, spawn_delay: float = 0.0) -> None:
        self.spawned: list[tuple[str, str, dict]] = []
        self.gpus: list[str | None] = []  # with_options(gpu=...) of each spawn
        self.cancelled: list[tuple[str, bool]] = []
        self.threads: dict[str, threading.Thread] = {}
        self.spawn_delay = spawn_delay

    def function(self, app_name: str, name: str, environment: str | None) -> Any:
        import modal_app

        outer = self

        class Function:
            gpu: str | None = None

            def with_options(self, gpu: str | None = None) -> Any:
                self.gpu = gpu
                return self

            def remote(self) -> Any:
                return getattr(modal_app, name).local()

            def spawn(self, spec: dict) -> Any:
                time.sleep(outer.spawn_delay)
                outer.spawned.append((app_name, name, spec))
                outer.gpus.append(self.gpu)
                call_id = f"fc-{uuid.uuid4().hex[:12]}"
                thread = threading.Thread(
                    target=modal_app.FUNCTIONS[name].local, args=(spec,), daemon=True
                )
                thread.start()
                outer.threads[call_id] = thread
                return type("Call", (), {"object_id": call_id})()

        return Function()

    def call(self, call_id: str) -> Any:
        outer = self

        class Call:
            def cancel(self, terminate_containers: bool = False) -> None:
                outer.cancelled.append((call_id, terminate_containers))

            def get(self, timeout: float = 0) -> Any:
                if outer.threads[call_id].is_alive():
                    raise TimeoutError
                return 0

        return Call()


@pytest.fixture()
def stand_in(monkeypatch):  # type: ignore[no-untyped-def]
    """The stand-in, and the deployed app's capabilities kept for the Modal runner (as
    `vap runners refresh modal` keeps them after a deploy), which the live server reads."""
    from api.services.jobs import capabilities

    modal = StandInModal()
    monkeypatch.setattr(modal_runner, "client_factory", lambda: modal)
    assert capabilities.refresh(get_settings(), "modal").report is not None
    return modal


def test_the_modal_runner_spawns_the_deployed_function_by_name(stand_in, live_server, make_user):
    user = make_user("engineer_i")
    settings = get_settings().model_copy(update={"api_base_url": live_server})
    job_id = job_to_dispatch(user.id, "modal")
    job = submit(job_id, settings)
    assert job.status == JobStatus.QUEUED and job.runner_ref.startswith("fc-")
    ((app_name, name, spec),) = stand_in.spawned
    assert (app_name, name) == ("vision-ai-platform", "diagnostic")
    assert spec["job_id"] == str(job_id) and spec["callback_url"].startswith(live_server)
    wait_for_status(job_id, JobStatus.COMPLETED)  # the body reported back over HTTP


def test_cancel_reaches_modal_and_the_function_stops(stand_in, live_server, make_user):
    user = make_user("engineer_i")
    settings = get_settings().model_copy(update={"api_base_url": live_server})
    job_id = job_to_dispatch(user.id, "modal", heartbeats=1000, interval=0.05)
    job = submit(job_id, settings)
    wait_for_status(job_id, JobStatus.RUNNING)
    with new_session() as db:
        from api.db.models import User

        lookup.cancel(db, settings, db.get(User, uuid.UUID(user.id)), DiagnosticJob, job_id)
    assert stand_in.cancelled == [(job.runner_ref, True)]
    thread = stand_in.threads[job.runner_ref]
    thread.join(timeout=10)  # told `cancel` at its next callback
    assert not thread.is_alive() and row(job_id).status == JobStatus.CANCELLED


def test_a_modal_that_does_not_answer_fails_the_job_quickly(monkeypatch, make_user):
    monkeypatch.setattr(modal_runner, "client_factory", lambda: StandInModal(spawn_delay=30))
    user = make_user("engineer_i")
    settings = get_settings().model_copy(update={"modal_call_timeout_seconds": 0.5})
    started = time.monotonic()
    job = submit(job_to_dispatch(user.id, "modal"), settings)
    assert time.monotonic() - started < 5
    assert job.status == JobStatus.FAILED
    assert "did not answer spawn of vision-ai-platform.diagnostic within 0.5 s" in job.error_message


def test_without_a_modal_token_the_real_client_fails_the_job_at_once(
    monkeypatch, tmp_path, make_user
):
    for name in ("MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET", "MODAL_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(tmp_path / "no-modal.toml"))
    user = make_user("engineer_i")
    started = time.monotonic()
    job = submit(job_to_dispatch(user.id, "modal"), get_settings())
    assert time.monotonic() - started < get_settings().modal_call_timeout_seconds
    assert job.status == JobStatus.FAILED
    assert "Runner 'modal' could not start the job: Modal refused spawn" in job.error_message


def test_modal_function_bodies_run_in_process(live_server, make_user):
    import modal_app
    from api.db.models import JobKind
    from api.services.jobs import tokens
    from contract.jobs import JobSpec

    user = make_user("engineer_i")
    job_id = diagnostic_job(user.id, runner="modal")  # queued, attempt 1: as dispatched
    spec = JobSpec(
        job_id=str(job_id), kind="diagnostic", attempt=1, config={"heartbeats": 2, "interval": 0},
        callback_url=f"{live_server}/api/v1/jobs/{job_id}",
        callback_token=tokens.create(get_settings(), job_id, JobKind.DIAGNOSTIC, 1, 600),
    )  # fmt: skip
    assert modal_app.diagnostic.local(spec.model_dump(mode="json")) == 0
    assert row(job_id).status == JobStatus.COMPLETED


def _digits_training_job(api, live_server: str, stand_in, **body: object) -> str:  # type: ignore[no-untyped-def]
    """A digits training job created through the live API on the Modal runner, then
    dispatched here, where the stand-in is: its id."""
    from api.db.models import TrainingJob
    from api.services.jobs import dispatch
    from tests.digits import digits_imagefolder_zip

    archive = digits_imagefolder_zip(per_class=6, size=32)
    files = [("files", ("digits.zip", archive, "application/zip"))]
    dataset = api.post("/api/v1/datasets", data={"name": "digits"}, files=files).json()
    body = {"dataset_id": dataset["id"], "framework": "timm", "model_name": "resnet18",
            "config": {"epochs": 1, "image_size": 32, "pretrained": False},
            "runner": "modal", "start": False, **body}  # fmt: skip
    created = api.post("/api/v1/training/jobs", json=body)
    assert created.status_code == 201, created.text
    settings = get_settings().model_copy(update={"api_base_url": live_server})
    with new_session() as db:
        job = dispatch.submit(db, settings, db.get(TrainingJob, uuid.UUID(created.json()["id"])))
        assert job.status == JobStatus.QUEUED and job.runner == "modal"
    return created.json()["id"]  # type: ignore[no-any-return]


def test_a_training_job_runs_in_the_modal_train_function(stand_in, live_server, api):
    """The whole path of a job on Modal, but for the cloud: the runner spawns `train` by
    name, and modal_app.train's body (run with `.local()`) trains and reports."""
    from tests.live import wait_for

    job_id = _digits_training_job(api, live_server, stand_in)
    ((_, name, spec),) = stand_in.spawned
    assert name == "train" and spec["resources"]["gpu"] is None and "snapshot" in spec["inputs"]
    assert stand_in.gpus == [None]  # no GPU asked: the function's own (default) resources
    events = wait_for(api, job_id, lambda p: p["terminal"], 120)
    assert events[-1]["data"]["status"] == "completed", events[-1]
    got = api.get(f"/api/v1/training/jobs/{job_id}").json()
    assert got["has_best_checkpoint"] and got["current_epoch"] == 1


def test_a_gpu_request_reaches_modal_and_is_never_run_on_the_cpu(stand_in, live_server, api):
    """The job's GPU goes to Modal with `with_options(gpu=...)`; the function body, here
    on a machine without a GPU, fails the job saying so rather than train on the CPU."""
    from tests.live import wait_for

    job_id = _digits_training_job(api, live_server, stand_in, gpu="H100:2")
    ((_, name, spec),) = stand_in.spawned
    assert name == "train" and spec["resources"]["gpu"] == "H100:2"
    assert stand_in.gpus == ["H100:2"]
    events = wait_for(api, job_id, lambda p: p["terminal"], 120)
    assert events[-1]["data"]["status"] == "failed", events[-1]
    error = api.get(f"/api/v1/training/jobs/{job_id}").json()["error_message"]
    assert "asked for a GPU (H100:2) and this worker sees none" in error


def test_a_gpu_modal_does_not_offer_is_refused_at_creation(stand_in, api):
    from tests.digits import digits_imagefolder_zip

    archive = digits_imagefolder_zip(per_class=2, size=16)
    files = [("files", ("digits.zip", archive, "application/zip"))]
    dataset = api.post("/api/v1/datasets", data={"name": "digits"}, files=files).json()
    body = {"dataset_id": dataset["id"], "framework": "timm", "model_name": "resnet18",
            "runner": "modal"}  # fmt: skip
    for gpu, why in (("V100", "offers no V100 GPUs"), ("H100:8", None), ("T4:9", "GPU request")):
        r = api.post("/api/v1/training/jobs", json={**body, "gpu": gpu, "start": False})
        if why is None:
            assert r.status_code == 201, r.text  # eight is the most Modal gives one job
            continue
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert why in error["message"], error
        if error["code"] == "unsupported_gpu":
            assert "runner 'modal'" in error["message"]
    assert api.get("/api/v1/training/jobs").json()["total"] == 1  # the refused left nothing


def test_an_export_job_runs_in_the_modal_export_function(stand_in, live_server, api):
    """Export jobs go through the same dispatch: the runner spawns `export` by name and
    modal_app.export's body exports, validates and reports."""
    from api.db.models import ExportJob, User
    from api.schemas.exports import ExportJobCreate
    from api.services import exports
    from tests.digits import digits_imagefolder_zip
    from tests.live import wait_for

    archive = digits_imagefolder_zip(per_class=6, size=32)
    files = [("files", ("digits.zip", archive, "application/zip"))]
    dataset = api.post("/api/v1/datasets", data={"name": "digits"}, files=files).json()
    body = {"dataset_id": dataset["id"], "framework": "timm", "model_name": "resnet18",
            "config": {"epochs": 1, "image_size": 32, "pretrained": False}}  # fmt: skip
    trained = api.post("/api/v1/training/jobs", json=body).json()  # the local runner
    events = wait_for(api, trained["id"], lambda p: p["terminal"], 180)
    assert events[-1]["data"]["status"] == "completed", events[-1]

    settings = get_settings().model_copy(update={"api_base_url": live_server})
    request = ExportJobCreate(training_job_id=trained["id"], runner="modal")
    with new_session() as db:
        user = db.get(User, uuid.UUID(trained["user_id"]))
        job = exports.create(db, settings, user, request)
        assert job.status == JobStatus.QUEUED and job.runner == "modal"
        export_id = str(job.id)
    ((_, name, spec),) = stand_in.spawned
    assert name == "export" and spec["config"]["format"] == "onnx"
    assert "checkpoint" in spec["inputs"] and "snapshot" in spec["inputs"]
    events = wait_for(api, export_id, lambda p: p["terminal"], 180)
    assert events[-1]["data"]["status"] == "completed", events[-3:]
    with new_session() as db:
        done = db.get(ExportJob, uuid.UUID(export_id))
        assert done.export_key and done.validation_metrics["passed"] is True
