"""What a runner's workers can do is theirs to say: asked of them, kept per runner with
when it was taken, asked again when stale or by an admin, and read by job admission,
which refuses what the runner's workers cannot do, naming the runner and why."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.db.models import RunnerCapabilities, TrainingJob
from api.db.session import new_session
from api.errors import Unprocessable
from api.services.jobs import capabilities
from api.settings import get_settings
from tests import dataset_builders as build
from tests.conftest import upload_dataset

ROOT = Path(__file__).resolve().parents[1]


def _row(runner: str) -> RunnerCapabilities | None:
    with new_session() as db:
        return db.get(RunnerCapabilities, runner)


@pytest.fixture()
def dataset(client, make_user):  # type: ignore[no-untyped-def]
    owner = make_user("engineer_i")
    data = upload_dataset(client, owner, files=build.imagefolder_files(train=2, val=1)).json()
    return owner, data


def test_the_worker_reports_its_own_environment_as_json():
    done = subprocess.run(
        [sys.executable, "-m", "functions", "capabilities"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    from contract.capabilities import WorkerCapabilities

    report = WorkerCapabilities.model_validate_json(done.stdout)
    assert report.versions["torch"] and report.frameworks["timm"].supported
    assert report.export["timm"]["onnx"].supported and report.quantizations["fp16"].supported
    assert report.python == ".".join(map(str, sys.version_info[:3]))


def test_the_table_is_kept_with_when_it_was_taken(client, make_user):
    headers = make_user("engineer_i").headers
    first = client.get("/api/v1/export/capabilities?runner=local", headers=headers).json()
    assert first["runner"] == "local" and first["taken_at"] and first["error"] is None
    assert first["trains"]["timm"] == {"supported": True, "reason": None}
    assert first["quantizations"]["dynamic_int8"]["supported"] is True
    assert first["gpu"] is bool(first["gpu_info"]["devices"])
    # Kept: read again without asking the workers.
    again = client.get("/api/v1/runners/local/capabilities", headers=headers).json()
    assert again["taken_at"] == first["taken_at"]
    runners = {r["name"]: r for r in client.get("/api/v1/runners", headers=headers).json()}
    assert set(runners) == {"local", "docker", "modal"} and runners["local"]["default"]
    assert runners["local"]["taken_at"] is not None


def test_a_stale_table_is_asked_for_again_by_the_reconciler(client, make_user):
    from api.services.jobs.reconciler import reconcile

    capabilities.stored(get_settings(), "local")
    old = datetime.now(UTC) - timedelta(hours=get_settings().runner_capabilities_max_age_hours + 1)
    with new_session() as db:
        row = db.get(RunnerCapabilities, "local")
        row.taken_at = row.asked_at = old
        db.commit()
    with new_session() as db:
        assert "local" in reconcile(db, get_settings()).runners_asked
    assert _row("local").taken_at > old
    with new_session() as db:  # fresh now: the next pass leaves it alone
        assert "local" not in reconcile(db, get_settings()).runners_asked


def test_only_admins_ask_the_workers_again(client, make_user, admin):
    r = client.post(
        "/api/v1/operations/runners/local/refresh", headers=make_user("engineer_ii").headers
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    before = capabilities.stored(get_settings(), "local").taken_at
    r = client.post("/api/v1/operations/runners/local/refresh", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["taken_at"]) > before
    r = client.post("/api/v1/operations/runners/kubernetes/refresh", headers=admin.headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_runner"
    r = client.get("/api/v1/export/capabilities?runner=kubernetes", headers=admin.headers)
    assert r.status_code == 422


def test_a_runner_whose_workers_lack_a_framework_refuses_its_jobs(client, dataset):
    """A worker environment without torch (the API's own `.[api]` venv as the worker
    interpreter): its table says so, and a timm job on it is refused naming the runner."""
    from api.db.models import User
    from api.schemas.training import TrainingJobCreate
    from api.services import training

    owner, data = dataset
    api_only = subprocess.run(
        [str(ROOT / "scripts" / "venv.sh"), "api"], capture_output=True, text=True, check=True
    ).stdout.strip()
    lean = get_settings().model_copy(update={"local_worker_python": f"{api_only}/bin/python"})
    try:
        row = capabilities.refresh(lean, "local")
        report = capabilities.report_of(row)
        assert report.versions["torch"] is None and not report.frameworks["timm"].supported
        assert "torch" in report.frameworks["timm"].reason
        assert not report.export["timm"]["onnx"].supported
        request = TrainingJobCreate(
            dataset_id=data["id"], framework="timm", model_name="resnet18", runner="local"
        )
        with new_session() as db, pytest.raises(Unprocessable) as refused:
            training.create(db, lean, db.get(User, uuid.UUID(owner.id)), request)
        assert refused.value.code == "unsupported_framework"
        assert "runner 'local' cannot run timm jobs: torch" in refused.value.message
        with new_session() as db:  # nothing was written
            assert db.query(TrainingJob).filter_by(dataset_id=uuid.UUID(data["id"])).count() == 0
    finally:
        capabilities.refresh(get_settings(), "local")  # the session's own workers again


def test_a_gpu_the_workers_do_not_have_is_refused_at_creation(client, dataset):
    owner, data = dataset
    caps = client.get("/api/v1/export/capabilities", headers=owner.headers).json()
    assert caps["gpu_info"]["devices"] == []  # this machine has no NVIDIA GPU
    body = {"dataset_id": data["id"], "framework": "timm", "model_name": "resnet18"}
    r = client.post("/api/v1/training/jobs", json={**body, "gpu": "T4"}, headers=owner.headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "unsupported_gpu"
    assert r.json()["error"]["message"] == (
        "gpu: runner 'local' cannot give this job T4: its workers see no GPU"
    )
    r = client.post("/api/v1/training/jobs", json={**body, "gpu": "T4 x2"}, headers=owner.headers)
    assert r.status_code == 422 and "is not a GPU request" in r.json()["error"]["message"]
    listed = client.get("/api/v1/training/jobs", headers=owner.headers).json()
    assert listed["total"] == 0


def test_a_runner_that_cannot_be_asked_says_why(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    settings = get_settings().model_copy(update={"docker_image": "vap-worker:nowhere"})
    with new_session() as db:  # a runner that never reported (the Docker tests' one did)
        db.query(RunnerCapabilities).filter_by(runner="docker").delete()
        db.commit()
    row = capabilities.refresh(settings, "docker")
    assert row.report is None and row.error
    with pytest.raises(Unprocessable) as unavailable:
        capabilities.require(settings, "docker", framework="timm")
    assert unavailable.value.code == "runner_unavailable"
    assert "Runner 'docker' could not say what its workers can do" in unavailable.value.message
    # Not asked again on every request: a failure is kept for a minute.
    asked = row.asked_at
    capabilities.stored(settings, "docker")
    assert _row("docker").asked_at == asked
    with new_session() as db:
        db.delete(db.get(RunnerCapabilities, "docker"))
        db.commit()


def test_gpu_requests_are_read_one_way():
    from contract.capabilities import GpuInfo, GpuRequest, WorkerCapabilities, matching_devices

    assert GpuRequest.parse("H100:2") == GpuRequest(type="H100", count=2)
    assert GpuRequest.parse("any") == GpuRequest(type=None, count=1)
    for bad in ("H100:0", "H100:9", "", "T4;rm", "a" * 40):
        with pytest.raises(ValueError):
            GpuRequest.parse(bad)
    devices = ["Tesla T4", "NVIDIA A100-SXM4-40GB", "NVIDIA A10G", "Tesla T4"]
    assert matching_devices(devices, "T4") == [0, 3]
    assert matching_devices(devices, "A10") == []  # not the A100, not the A10G
    assert matching_devices(devices, "a100") == [1]
    seen = WorkerCapabilities.model_validate(
        {"contract_version": 1, "python": "3.11", "platform": "linux-x86_64", "versions": {},
         "frameworks": {}, "export": {}, "quantizations": {}, "gpu": GpuInfo(devices=devices)}
    )  # fmt: skip
    assert seen.gpu_problem(GpuRequest.parse("T4:2")) is None
    assert "not 3 T4 GPU(s)" in seen.gpu_problem(GpuRequest.parse("T4:3"))
