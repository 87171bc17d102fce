"""Training, test runs and inference end to end: a real API process, real worker processes
started by the local runner, real timm training on scikit-learn's digits, progress read
over Server-Sent Events by a plain HTTP client."""

from __future__ import annotations

import io
import os
import signal
import time
import zipfile

import httpx
import pytest
from PIL import Image

from tests import sse
from tests.digits import digits_imagefolder_zip
from tests.live import reconcile, wait_for

# Small and quick: the digits at 32 px, resnet18 from scratch (ML-NOTES: ~2.3 s an epoch).
TIMM_CONFIG = {
    "epochs": 2,
    "batch_size": 64,
    "image_size": 32,
    "learning_rate": 0.001,
    "augmentation": "none",
    "pretrained": False,
    "scheduler": "cosine",
}


def _upload_digits(api: httpx.Client, per_class: int | None = None) -> dict:
    data = digits_imagefolder_zip(per_class=per_class, size=32)
    r = api.post(
        "/api/v1/datasets",
        data={"name": "digits"},
        files=[("files", ("digits.zip", data, "application/zip"))],
        timeout=120,
    )
    assert r.status_code == 201 and r.json()["status"] == "ready", r.text
    return r.json()  # type: ignore[no-any-return]


def _train(api: httpx.Client, dataset_id: str, **overrides) -> dict:  # type: ignore[no-untyped-def]
    body = {
        "dataset_id": dataset_id,
        "framework": "timm",
        "model_name": "resnet18",
        "config": TIMM_CONFIG,
    } | overrides
    r = api.post("/api/v1/training/jobs", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _png(digit_zip: bytes, index: int) -> tuple[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(digit_zip)) as z:
        name = sorted(n for n in z.namelist() if n.startswith("val/") and n.endswith(".png"))[index]
        return name, z.read(name)


def test_timm_trains_on_digits_and_is_tested_and_predicts_through_the_api(api):
    dataset = _upload_digits(api)
    job = _train(api, dataset["id"], name="digits resnet18")
    assert job["status"] == "queued" and job["dataset_snapshot_id"]
    assert job["config"]["epochs"] == 2 and job["config"]["optimizer"] == "adamw"  # defaults

    events = sse.job_events(api, job["id"])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    statuses = [e["data"]["status"] for e in events if e["type"] == "status"]
    assert statuses == ["pending", "queued", "running", "completed"], events[-3:]
    validations = [e["data"] for e in events if e["type"] == "validation"]
    assert [v["epoch"] for v in validations] == [1, 2]
    assert any(e["type"] == "heartbeat" and e["data"].get("epoch") for e in events)
    checkpoints = [e["data"] for e in events if e["type"] == "checkpoint"]
    assert {c["epoch"] for c in checkpoints} == {1, 2}

    got = api.get(f"/api/v1/training/jobs/{job['id']}").json()
    assert got["status"] == "completed" and got["current_epoch"] == 2
    accuracy = got["best_metrics"]["accuracy"]
    print(f"timm resnet18 on digits at 32 px, 2 epochs: val accuracy {accuracy:.3f}")
    assert accuracy > 0.5, got["best_metrics"]  # chance is 0.1
    assert got["primary_metric_name"] == "accuracy" and got["has_best_checkpoint"]
    best_epoch = got["best_epoch"]

    history = api.get(f"/api/v1/training/jobs/{job['id']}/metrics").json()
    assert [e["epoch"] for e in history["epochs"]] == [1, 2]
    assert [e["is_best"] for e in history["epochs"]].count(True) == 1
    assert "train/loss" in history["epochs"][0]["metrics"]
    results = api.get(f"/api/v1/training/jobs/{job['id']}/validation-results").json()
    assert [r["epoch"] for r in results] == [1, 2]
    result = next(r for r in results if r["epoch"] == best_epoch and r["is_best"])
    matrix = result["confusion_matrix"]
    assert len(matrix) == 10 and all(len(row) == 10 for row in matrix)
    assert sum(matrix[i][i] for i in range(10)) / sum(map(sum, matrix)) == pytest.approx(accuracy)
    assert [c["class_name"] for c in result["per_class_metrics"]] == dataset["class_names"]

    links = api.get(f"/api/v1/training/jobs/{job['id']}/checkpoints").json()
    assert links["last_epoch"] == 2
    assert httpx.get(links["best"]).status_code == 200

    # A test run on the same validation split measures the best checkpoint again: the
    # same images and the same weights give the same accuracy.
    body = {"training_job_id": job["id"], "dataset_id": dataset["id"], "split": "val"}
    run = api.post("/api/v1/test-runs", json=body | {"max_visualizations": 3, "enable_xai": True})
    assert run.status_code == 201, run.text
    run_events = sse.job_events(api, run.json()["id"])
    assert run_events[-1]["data"]["status"] == "completed", run_events[-3:]
    tested = api.get(f"/api/v1/test-runs/{run.json()['id']}").json()
    assert tested["overall_metrics"]["accuracy"] == pytest.approx(accuracy, abs=1e-9)
    page = api.get(f"/api/v1/test-runs/{run.json()['id']}/results?limit=5").json()
    assert page["num_images"] == sum(map(sum, matrix)) and len(page["images"]) == 5
    first = page["images"][0]
    assert {"predictions", "ground_truth", "metrics"} <= set(first)
    assert len(page["visualizations"]) == 3
    picture = httpx.get(next(iter(page["visualizations"].values())))
    heatmap = Image.open(io.BytesIO(picture.content))  # Grad-CAM over the 32 px digit
    assert heatmap.format == "PNG" and heatmap.size == (32, 32)

    # The quick inference path: two images in, their top-5 classes out.
    digits = digits_imagefolder_zip(size=32)
    images = [_png(digits, 0), _png(digits, 1)]
    r = api.post(
        "/api/v1/inference/upload",
        data={"training_job_id": job["id"], "top_k": "5"},
        files=[("files", (name.rsplit("/", 1)[-1], data, "image/png")) for name, data in images],
    )
    assert r.status_code == 201, r.text
    infer_events = sse.job_events(api, r.json()["id"])
    assert infer_events[-1]["data"]["status"] == "completed", infer_events[-3:]
    answer = api.get(f"/api/v1/inference/jobs/{r.json()['id']}/results").json()
    predictions = answer["images"]
    assert len(predictions) == 2 and len(answer["visualizations"]) == 2  # labels drawn
    for p in predictions:
        scores = [c["confidence"] for c in p["classes"]]
        assert len(scores) == 5 and scores == sorted(scores, reverse=True) and sum(scores) <= 1.0001


def test_a_non_image_sent_for_inference_is_refused_and_nothing_is_kept(api, live_server):
    dataset = _upload_digits(api, per_class=3)
    job = _train(api, dataset["id"], config={**TIMM_CONFIG, "epochs": 1})
    sse.job_events(api, job["id"])
    r = api.post(
        "/api/v1/inference/upload",
        data={"training_job_id": job["id"]},
        files=[("files", ("notes.png", b"this is not a picture", "image/png"))],
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_image"
    assert api.get("/api/v1/inference/jobs").json()["total"] == 0


def test_a_killed_training_worker_is_resumed_from_its_last_checkpoint(api, live_server):
    """No work is lost with a worker: the reconciler's new attempt starts after the last
    checkpointed epoch, and every epoch is validated exactly once."""
    from api.db.models import TrainingJob
    from api.db.session import new_session

    dataset = _upload_digits(api, per_class=20)
    job = _train(api, dataset["id"], config={**TIMM_CONFIG, "epochs": 3}, max_attempts=2)
    wait_for(api, job["id"], lambda p: any(e["type"] == "checkpoint" for e in p["events"]), 120)
    with new_session() as db:
        ref = db.get(TrainingJob, job["id"]).runner_ref
    os.killpg(int(ref.rsplit(":", 1)[1]), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{ref.rsplit(':', 1)[1]}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "retried" in reconcile(live_server)
    events = wait_for(api, job["id"], lambda p: p["terminal"], 180)
    queued = [
        e["data"] for e in events if e["type"] == "status" and e["data"]["status"] == "queued"
    ]
    assert queued[-1]["attempt"] == 2 and queued[-1]["resumed_from_epoch"] >= 1
    got = api.get(f"/api/v1/training/jobs/{job['id']}").json()
    assert got["status"] == "completed" and got["attempt"] == 2
    epochs = [
        e["epoch"] for e in api.get(f"/api/v1/training/jobs/{job['id']}/metrics").json()["epochs"]
    ]
    assert epochs == [1, 2, 3]
    second = [e["data"]["epoch"] for e in events if e["type"] == "validation" and e["attempt"] == 2]
    assert second and second[0] == queued[-1]["resumed_from_epoch"] + 1


def test_a_worker_stopped_by_sigterm_records_the_checkpoint_it_was_uploading(api, live_server):
    """A preemption's SIGTERM stops the worker between batches; the checkpoint it was
    uploading beside the training is recorded before it exits, so the next attempt
    resumes after that epoch, not the one before it."""
    from api.db.models import TrainingJob
    from api.db.session import new_session

    dataset = _upload_digits(api, per_class=20)
    job = _train(api, dataset["id"], config={**TIMM_CONFIG, "epochs": 8}, max_attempts=2)
    wait_for(api, job["id"], lambda p: any(e["type"] == "checkpoint" for e in p["events"]), 120)
    with new_session() as db:
        pid = int(db.get(TrainingJob, job["id"]).runner_ref.rsplit(":", 1)[1])
    # Epoch 2's ~130 MB upload starts as soon as its URL is given: stop the worker then,
    # while it runs (polled often: it takes about half a second here).
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        events = api.get(f"/api/v1/jobs/{job['id']}/events?after=0").json()["events"]
        if sum(e["type"] == "artifact_urls" for e in events) >= 2:
            break
        time.sleep(0.01)
    os.kill(pid, signal.SIGTERM)  # to the worker, as a container's stop sends it
    deadline = time.monotonic() + 60
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.05)
    got = api.get(f"/api/v1/training/jobs/{job['id']}").json()
    assert got["status"] in ("running", "queued")  # stopped, not ended: the reconciler retries
    recorded = [
        e["data"]["epoch"]
        for e in api.get(f"/api/v1/jobs/{job['id']}/events?after=0").json()["events"]
        if e["type"] == "checkpoint"
    ]
    assert 2 in recorded and got["last_checkpoint_epoch"] == max(recorded) >= 2
    assert api.post(f"/api/v1/training/jobs/{job['id']}/cancel").status_code == 200


def test_cancel_stops_training_and_resume_continues_from_the_checkpoint(api):
    dataset = _upload_digits(api, per_class=20)
    job = _train(api, dataset["id"], config={**TIMM_CONFIG, "epochs": 30})
    wait_for(api, job["id"], lambda p: any(e["type"] == "checkpoint" for e in p["events"]), 120)
    r = api.post(f"/api/v1/training/jobs/{job['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    cancelled = api.get(f"/api/v1/training/jobs/{job['id']}").json()
    done_epochs = cancelled["last_checkpoint_epoch"]
    assert done_epochs >= 1
    r = api.post(f"/api/v1/training/jobs/{job['id']}/resume", json={"epochs": done_epochs + 1})
    assert r.status_code == 200, r.text
    events = wait_for(api, job["id"], lambda p: p["terminal"] and
                      p["events"][-1]["data"].get("status") == "completed", 120)  # fmt: skip
    resumed = [e for e in events if e["type"] == "status" and e["data"].get("resumed_from_epoch")]
    assert resumed and resumed[-1]["data"]["resumed_from_epoch"] == done_epochs
    got = api.get(f"/api/v1/training/jobs/{job['id']}").json()
    assert got["status"] == "completed" and got["last_checkpoint_epoch"] == done_epochs + 1
    assert api.post(f"/api/v1/training/jobs/{job['id']}/resume").status_code == 409


def test_ultralytics_detection_trains_through_the_api_with_progress_over_sse(api):
    from tests.detection_data import yolo_detection_zip

    r = api.post(
        "/api/v1/datasets",
        data={"name": "boxes"},
        files=[("files", ("boxes.zip", yolo_detection_zip(), "application/zip"))],
    )
    assert r.status_code == 201 and r.json()["status"] == "ready", r.text
    dataset = r.json()
    assert dataset["task_type"] == "object_detection"
    config = {"epochs": 2, "batch_size": 4, "image_size": 128, "pretrained": False}
    job = _train(api, dataset["id"], framework="ultralytics", model_name="yolo11n", config=config)
    events = sse.job_events(api, job["id"])
    assert events[-1]["data"]["status"] == "completed", events[-3:]
    validations = [e["data"] for e in events if e["type"] == "validation"]
    assert [v["epoch"] for v in validations] == [1, 2]
    # Our COCO-style numbers, with Ultralytics' own beside them for comparison.
    keys = set(validations[0]["metrics"])
    assert {"mAP50-95", "mAP50"} <= keys and any(k.startswith("yolo/mAP50-95") for k in keys)
    got = api.get(f"/api/v1/training/jobs/{job['id']}").json()
    assert got["primary_metric_name"] == "mAP50-95" and got["has_best_checkpoint"]

    # A test run: COCO-style metrics, per-image boxes against the truth, pictures drawn
    # (Grad-CAM was asked for, but a detector has none: it draws instead of failing).
    body = {"training_job_id": job["id"], "dataset_id": dataset["id"], "split": "val",
            "enable_xai": True, "max_visualizations": 2}  # fmt: skip
    run = api.post("/api/v1/test-runs", json=body).json()
    ended = sse.job_events(api, run["id"])[-1]["data"]
    assert ended["status"] == "completed", ended
    tested = api.get(f"/api/v1/test-runs/{run['id']}").json()
    assert {"mAP50-95", "mAP50", "AR100"} <= set(tested["overall_metrics"])
    page = api.get(f"/api/v1/test-runs/{run['id']}/results").json()
    assert page["images"] and "boxes" in page["images"][0]["ground_truth"]
    assert len(page["visualizations"]) == 2

    image = next(n for n in zipfile.ZipFile(io.BytesIO(yolo_detection_zip())).namelist()
                 if n.startswith("images/val/"))  # fmt: skip
    data = zipfile.ZipFile(io.BytesIO(yolo_detection_zip())).read(image)
    r = api.post(
        "/api/v1/inference/upload",
        data={"training_job_id": job["id"], "confidence": "0.0"},
        files=[("files", (image.rsplit("/", 1)[-1], data, "image/jpeg"))],
    )
    assert r.status_code == 201, r.text
    ended = sse.job_events(api, r.json()["id"])[-1]["data"]
    assert ended["status"] == "completed", ended
    predicted = api.get(f"/api/v1/inference/jobs/{r.json()['id']}/results").json()["images"][0]
    width, height = Image.open(io.BytesIO(data)).size
    assert (predicted["width"], predicted["height"]) == (width, height)
    for inst in predicted["instances"]:
        x, y, w, h = inst["bbox"]
        assert x >= -1 and y >= -1 and x + w <= width + 1 and y + h <= height + 1
