"""The shape the platform ships in: the API from an environment with only the `api`
extra (what Lambda and infra/Dockerfile.api get: no torch, no frameworks) and the
workers from a worker environment of their own (the `worker` extra), joined by the
local runner's LOCAL_WORKER_PYTHON. The whole main path must work that way: dataset,
training, test run, ONNX export, deployment, /v1/infer; and what the API says its
workers can do is what the workers said, not what the API's own environment has."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import api_process

ROOT = Path(__file__).resolve().parents[1]


def _venv(extras: str) -> Path:
    """The cached virtualenv with the project and `extras` (test.sh builds them first)."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "venv.sh"), extras], capture_output=True, text=True, check=True
    )
    return Path(done.stdout.strip()) / "bin" / "python"


def _imports(python: Path, module: str) -> bool:
    code = f"import {module}"
    return subprocess.run([str(python), "-c", code], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def split_api(database):  # type: ignore[no-untyped-def]
    api_python, worker_python = _venv("api"), _venv("worker")
    with api_process(python=str(api_python), LOCAL_WORKER_PYTHON=str(worker_python)) as base:
        yield base, api_python, worker_python


def test_the_environments_are_really_apart(split_api):
    _, api_python, worker_python = split_api
    assert not _imports(api_python, "torch") and not _imports(api_python, "timm")
    assert _imports(api_python, "fastapi") and _imports(api_python, "onnxruntime")
    assert _imports(worker_python, "torch") and _imports(worker_python, "timm")
    # The workers hold no server code's dependencies: functions never import api.
    assert not _imports(worker_python, "fastapi") and not _imports(worker_python, "sqlalchemy")


def test_the_api_serves_its_workers_capabilities_not_its_own(split_api, make_user):
    import httpx

    base, _, _ = split_api
    headers = make_user("engineer_i").headers
    caps = httpx.get(f"{base}/api/v1/export/capabilities?runner=local", headers=headers).json()
    assert caps["runner"] == "local" and caps["taken_at"]
    # The API's environment has no torch or timm; its workers' does, and says so.
    assert caps["versions"]["torch"] and caps["versions"]["timm"]
    assert caps["trains"]["timm"]["supported"] is True
    assert caps["frameworks"]["timm"]["onnx"] == {
        "supported": True, "route": "native", "reason": None
    }  # fmt: skip


@pytest.mark.timeout(600)
def test_the_main_path_runs_split(split_api, make_user):
    from tests.digits import digits_imagefolder_zip
    from vap_client import Client

    base, _, _ = split_api
    owner = make_user("engineer_i")
    api = Client(base, token=owner.headers["Authorization"].removeprefix("Bearer "))
    archive = digits_imagefolder_zip(per_class=12, size=32)
    dataset = api.upload_dataset(archive, name="split digits", filename="digits.zip")
    assert dataset.status == "ready", dataset

    config = {"epochs": 2, "image_size": 32, "pretrained": False, "batch_size": 32}
    job = api.create_training_job(dataset.id, "resnet18", framework="timm", config=config)
    trained = api.wait(job.id, timeout=300)
    assert trained.status == "completed", trained
    trained = api.get_training_job(job.id)
    assert trained.best_primary is not None and trained.best_primary > 0

    run = api.wait(api.create_test_run(job.id, dataset.id, split="val").id, timeout=180)
    assert run.status == "completed", run

    export = api.wait(api.create_export_job(job.id, format="onnx").id, timeout=300)
    assert export.status == "completed", export
    export = api.get_export_job(export.id)
    assert export.validation_metrics and export.validation_metrics["passed"] is True

    deployment = api.create_deployment(export.id, strategy="platform_endpoint", name="split")
    prediction = api.infer(deployment.id, _one_png(archive), api_key=deployment.api_key)
    assert prediction.classes and prediction.classes[0].class_name.startswith("digit_")
    assert api.usage(deployment.id, api_key=deployment.api_key).requests_this_month == 1


def _one_png(archive: bytes) -> bytes:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        name = next(n for n in z.namelist() if n.endswith(".png"))
        return z.read(name)
