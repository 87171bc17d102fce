"""Export jobs end to end: a real API process, a real timm model trained on digits, the
export function run by the local runner, validation after export on the validation
split, versions and the default, the package downloaded and run."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import httpx
import pytest

from functions.export_check import compare
from tests.conftest import logged_in
from tests.sse import job_events
from tests.test_training_api import _png, _train, _upload_digits
from trainers.base import EvalReport


@pytest.fixture(scope="module")
def trained(live_server):  # type: ignore[no-untyped-def]
    """A logged-in client and a completed 2-epoch resnet18 on digits at 32 px."""
    api = logged_in(live_server, "export")
    dataset = _upload_digits(api, per_class=60)  # 600 images, ~120 of them in val
    job = _train(api, dataset["id"], name="to export")
    events = job_events(api, job["id"])
    assert events[-1]["data"]["status"] == "completed", events[-3:]
    yield api, api.get(f"/api/v1/training/jobs/{job['id']}").json(), dataset
    api.close()


def _export(api: httpx.Client, training_job_id: str, **body: object) -> dict:
    r = api.post("/api/v1/export/jobs", json={"training_job_id": training_job_id} | body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_an_export_is_validated_versioned_packaged_and_runs_outside_the_platform(trained, tmp_path):
    api, job, dataset = trained
    caps = api.get("/api/v1/export/capabilities", params={"framework": "timm"}).json()
    assert caps["frameworks"]["timm"]["onnx"]["supported"] is True
    assert caps["frameworks"]["timm"]["tensorrt"]["supported"] is caps["gpu"]

    first = _export(api, job["id"], version_tag="first")
    assert first["version"] == 1 and first["status"] == "queued" and first["format"] == "onnx"
    events = job_events(api, first["id"])
    assert events[-1]["data"]["status"] == "completed", events[-4:]
    progress = [e["data"]["progress"] for e in events if e["type"] == "heartbeat"]
    assert progress == sorted(progress) and progress[-1] >= 80  # monotonic, over SSE
    assert any(e["type"] == "export" for e in events)

    done = api.get(f"/api/v1/export/jobs/{first['id']}").json()
    assert done["status"] == "completed" and done["is_default"] is True  # the first one
    check = done["validation_metrics"]
    # Same split, same metric code: the fp32 ONNX model scores what the checkpoint scores.
    assert check["metric"] == "accuracy" and check["passed"] is True
    assert check["checkpoint"] == pytest.approx(job["best_metrics"]["accuracy"], abs=1e-9)
    assert abs(check["drop"]) <= 0.005 and check["top1_agreement"] >= 0.99
    assert check["split"] == "val" and check["images"] >= 100  # the whole validation split
    assert done["size_bytes"] > 1_000_000 and len(done["checksum_sha256"]) == 64
    assert done["has_package"] is True

    # The package: download it and run its runtime where this repo cannot be imported.
    link = api.get(f"/api/v1/export/jobs/{first['id']}/download").json()
    assert link["filename"] == "timm-onnx-v1.zip"
    package = httpx.get(link["url"])
    assert package.status_code == 200
    with zipfile.ZipFile(io.BytesIO(package.content)) as z:
        z.extractall(tmp_path / "pkg")
    name, png = _png(_digits_zip(), 0)
    (tmp_path / "digit.png").write_bytes(png)
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); from vap_runtime import Model; "
        "print(json.dumps(Model(sys.argv[1]).predict(sys.argv[2])))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", script, str(tmp_path / "pkg"), str(tmp_path / "digit.png")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    prediction = json.loads(out.stdout)
    assert prediction["classes"][0]["class_name"] in dataset["class_names"]

    # A second export: INT8, its own version, not the default until asked.
    second = _export(api, job["id"], quantization="dynamic_int8", max_metric_drop=0.2)
    assert second["version"] == 2
    events = job_events(api, second["id"])
    assert events[-1]["data"]["status"] == "completed", events[-4:]
    second = api.get(f"/api/v1/export/jobs/{second['id']}").json()
    assert second["is_default"] is False
    assert second["size_bytes"] <= 0.35 * done["size_bytes"]

    r = api.post(f"/api/v1/export/jobs/{second['id']}/set-default")
    assert r.status_code == 200 and r.json()["is_default"] is True
    listed = api.get(f"/api/v1/training/jobs/{job['id']}/exports").json()
    assert [(e["version"], e["is_default"]) for e in listed] == [(2, True), (1, False)]
    r = api.patch(f"/api/v1/export/jobs/{second['id']}", json={"version_tag": "production"})
    assert r.status_code == 200 and r.json()["version_tag"] == "production"
    page = api.get("/api/v1/export/jobs", params={"training_job_id": job["id"]}).json()
    assert page["total"] == 2

    # Deleting an export removes its files too.
    assert api.delete(f"/api/v1/export/jobs/{first['id']}").status_code == 204
    assert api.get(f"/api/v1/export/jobs/{first['id']}").status_code == 404
    assert httpx.get(link["url"]).status_code == 404


def _digits_zip() -> bytes:
    from tests.digits import digits_imagefolder_zip

    return digits_imagefolder_zip(size=32)


def test_bad_export_requests_are_refused_and_create_nothing(trained, live_server):
    api, job, _ = trained
    before = api.get("/api/v1/export/jobs").json()["total"]
    cases = [
        ({"training_job_id": "00000000-0000-0000-0000-000000000000"}, 404, "not_found"),
        ({"training_job_id": job["id"], "format": "tflite"}, 422, "unsupported_format"),
        ({"training_job_id": job["id"], "format": "pickle"}, 422, None),
        ({"training_job_id": job["id"], "opset": 5}, 422, None),
        ({"training_job_id": job["id"], "quantization": "int3"}, 422, None),
        ({"training_job_id": job["id"], "max_metric_drop": -0.1}, 422, None),
    ]
    for body, code, error_code in cases:
        r = api.post("/api/v1/export/jobs", json=body)
        assert r.status_code == code, (body, r.text)
        assert "error" in r.json() and r.json()["error"]["message"]
        if error_code:
            assert r.json()["error"]["code"] == error_code, r.text
    tflite = api.post("/api/v1/export/jobs", json=cases[1][0]).json()["error"]["message"]
    assert "tflite" in tflite and "not available here" in tflite  # says why
    assert api.get("/api/v1/export/jobs").json()["total"] == before

    # Another user sees none of it.
    other = logged_in(live_server, "export-other")
    r = other.post("/api/v1/export/jobs", json={"training_job_id": job["id"]})
    assert r.status_code == 404
    other.close()


def test_validation_compares_in_the_direction_the_metric_points():
    def report(value: float, direction: str = "maximize") -> EvalReport:
        return EvalReport("m", value, direction, {"m": value})

    assert compare(report(0.90), report(0.89), 0.02)["passed"] is True
    failed = compare(report(0.90), report(0.85), 0.02)
    assert failed["passed"] is False and failed["drop"] == pytest.approx(0.05)
    assert compare(report(0.90), report(0.95), 0.0)["passed"] is True  # better is fine
    # A loss that grows is a drop.
    assert compare(report(1.0, "minimize"), report(1.1, "minimize"), 0.05)["passed"] is False
    assert compare(report(1.0, "minimize"), report(0.9, "minimize"), 0.0)["passed"] is True


def test_capabilities_say_why_a_format_is_missing(trained):
    api, _, _ = trained
    caps = api.get("/api/v1/export/capabilities").json()
    assert set(caps["frameworks"]) == {"timm", "ultralytics", "transformers"}
    for formats in caps["frameworks"].values():
        assert set(formats) == {"onnx", "torchscript", "openvino", "tflite", "coreml", "tensorrt"}
        for cap in formats.values():
            assert cap["supported"] or cap["reason"]  # never "no" without a reason
    assert api.get("/api/v1/export/capabilities?framework=caffe").status_code == 422
