"""The real worker image (infra/Dockerfile.worker: torch 2.14.1 and the worker extra),
built on a real engine from a wheelhouse made outside the build: it says what it can do,
and the main path through a live API whose Docker runner starts this image (a training,
a test run and an ONNX export in containers of it, which call the API back and leave no
container behind; then the export deployed and called on /v1/infer).

The first run on a machine builds the image (minutes); later runs start their engine on
the template it left (tests/docker_engine.py) and only rebuild the layers of the code."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from datetime import datetime

import httpx
import pytest

from tests.conftest import api_process, logged_in
from tests.sse import job_events
from tests.test_training_api import _train, _upload_digits

# The first run on a machine builds a multi-gigabyte image in this module's first setup.
pytestmark = pytest.mark.timeout(3600)


@pytest.fixture(scope="module")
def docker_api(docker_engine, worker_image, database):  # type: ignore[no-untyped-def]
    """A client of a live API whose Docker runner starts the real worker image."""
    with api_process(DOCKER_HOST=docker_engine.host, DOCKER_IMAGE=worker_image) as base:
        client = logged_in(base, "docker-worker")
        try:
            yield client
        finally:
            client.close()


def _took(job: dict) -> str:
    start, end = (datetime.fromisoformat(job[k]) for k in ("created_at", "completed_at"))
    return f"{(end - start).total_seconds():.0f} s"


def _no_containers_left(engine, job_id: str) -> bool:  # type: ignore[no-untyped-def]
    # The engine removes a container (--rm) just after it exits.
    deadline = time.monotonic() + 20
    while engine.containers(f"vap.job={job_id}") and time.monotonic() < deadline:
        time.sleep(0.2)
    return engine.containers(f"vap.job={job_id}") == []


def test_the_image_says_it_has_torch_and_exports_timm_to_onnx(docker_engine, worker_image):
    out = subprocess.run(
        ["docker", "run", "--rm", worker_image, "capabilities"],
        env=docker_engine.env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    table = json.loads(out.stdout)
    assert table["python"].startswith("3.11.")
    assert table["versions"]["torch"] == "2.14.1" and table["versions"]["torchvision"] == "0.29.1"
    assert table["versions"]["timm"] and table["versions"]["onnxruntime"]
    assert table["frameworks"]["timm"]["supported"] is True
    assert table["export"]["timm"]["onnx"]["supported"] is True
    assert table["gpu"]["devices"] == []  # this engine has no NVIDIA runtime


def test_the_main_path_runs_in_containers_of_the_image(docker_api, docker_engine):
    """Dataset, training, test run and ONNX export in containers of the image; then the
    export deployed and called on the API's own endpoint."""
    api = docker_api
    dataset = _upload_digits(api)  # 1797 images, 361 of them in val
    job = _train(api, dataset["id"], name="in docker", runner="docker", max_attempts=1)
    events = job_events(api, job["id"], timeout=900)
    assert events[-1]["data"]["status"] == "completed", events[-4:]
    assert [e["data"]["epoch"] for e in events if e["type"] == "validation"] == [1, 2]
    trained = api.get(f"/api/v1/training/jobs/{job['id']}").json()
    assert trained["runner"] == "docker" and trained["current_epoch"] == 2
    accuracy = trained["best_metrics"]["accuracy"]
    print(f"\nresnet18 on digits at 32 px, 2 epochs, in the worker image: accuracy {accuracy:.3f}")
    print(f"training job (created to completed): {_took(trained)}")
    assert 0.5 < accuracy <= 1.0, trained["best_metrics"]  # chance is 0.1
    assert trained["has_best_checkpoint"]
    assert _no_containers_left(docker_engine, job["id"])

    body = {"training_job_id": job["id"], "format": "onnx", "runner": "docker", "max_attempts": 1}
    r = api.post("/api/v1/export/jobs", json=body)
    assert r.status_code == 201, r.text
    export = r.json()
    events = job_events(api, export["id"], timeout=900)
    assert events[-1]["data"]["status"] == "completed", events[-4:]
    done = api.get(f"/api/v1/export/jobs/{export['id']}").json()
    print(f"ONNX export job (created to completed): {_took(done)}")
    assert done["runner"] == "docker" and done["format"] == "onnx"
    check = done["validation_metrics"]
    # The exported model, run by onnxruntime in the container, scores what the checkpoint did.
    assert check["metric"] == "accuracy" and check["passed"] is True
    assert check["checkpoint"] == pytest.approx(accuracy, abs=1e-9)
    assert check["split"] == "val" and check["images"] >= 300
    assert done["size_bytes"] > 1_000_000 and len(done["checksum_sha256"]) == 64
    assert _no_containers_left(docker_engine, export["id"])

    body = {"training_job_id": job["id"], "dataset_id": dataset["id"], "split": "val",
            "runner": "docker", "max_attempts": 1}  # fmt: skip
    r = api.post("/api/v1/test-runs", json=body)
    assert r.status_code == 201, r.text
    events = job_events(api, r.json()["id"], timeout=900)
    assert events[-1]["data"]["status"] == "completed", events[-4:]
    tested = api.get(f"/api/v1/test-runs/{r.json()['id']}").json()
    assert tested["runner"] == "docker" and tested["processed_images"] == check["images"]
    assert tested["overall_metrics"]["accuracy"] == pytest.approx(accuracy, abs=1e-9)
    assert _no_containers_left(docker_engine, tested["id"])

    body = {"export_job_id": export["id"], "strategy": "platform_endpoint", "name": "docker"}
    r = api.post("/api/v1/deployments", json=body)
    assert r.status_code == 201, r.text
    deployment = r.json()
    image = base64.b64encode(_digit_png()).decode()
    answer = httpx.post(
        f"{api.base_url}/v1/infer/{deployment['id']}",
        json={"image": image, "top_k": 3},
        headers={"Authorization": f"Bearer {deployment['api_key']}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["classes"][0]["class_name"].startswith("digit_")
    usage = api.get(f"/v1/deployments/{deployment['id']}/usage").json()
    assert usage["requests_this_month"] == 1


def _digit_png() -> bytes:
    import io
    import zipfile

    from tests.digits import digits_imagefolder_zip

    with zipfile.ZipFile(io.BytesIO(digits_imagefolder_zip(per_class=1, size=32))) as z:
        return z.read(next(n for n in z.namelist() if n.endswith(".png")))
