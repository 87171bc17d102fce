"""Nothing reaches the internet at run time: real workers of every framework train with
`pretrained: true` (the default, which would ask the hubs) and draw their plots, while
an audit hook in every process records any attempt to reach a host that is not this
machine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import DATA_DIR, api_process, logged_in
from tests.digits import digits_imagefolder_zip
from tests.live import wait_for


@pytest.fixture(scope="module")
def audited(database):  # type: ignore[no-untyped-def]
    log = DATA_DIR / "network-audit.log"
    log.unlink(missing_ok=True)
    hooks = Path(__file__).parent / "network_audit"
    env = {"PYTHONPATH": f"{hooks}{os.pathsep}{Path(__file__).parents[1]}",
           "VAP_TEST_NETWORK_LOG": str(log), "GUEST_MAX_DATASETS": "5"}  # fmt: skip
    with api_process(**env) as base:
        yield base, log


def test_workers_of_every_framework_touch_no_network(audited):
    from tests.detection_data import yolo_detection_zip

    base, log = audited
    api = logged_in(base, "offline")
    jobs = []
    for name, archive, framework, model, config in [
        ("digits", digits_imagefolder_zip(per_class=6), "timm", "resnet18", {"image_size": 32}),
        ("digits", None, "transformers", "vit-tiny", {"image_size": 32}),
        ("boxes", yolo_detection_zip(), "ultralytics", "yolo11n", {"image_size": 64}),
    ]:
        if archive is not None:
            files = [("files", (f"{name}.zip", archive, "application/zip"))]
            r = api.post("/api/v1/datasets", data={"name": name}, files=files)
            assert r.status_code == 201 and r.json()["status"] == "ready", r.text
            dataset = r.json()["id"]
        body = {
            "dataset_id": dataset,
            "framework": framework,
            "model_name": model,
            "config": {"epochs": 1, "batch_size": 8, **config},
        }  # pretrained: the default
        r = api.post("/api/v1/training/jobs", json=body)
        assert r.status_code == 201 and r.json()["config"]["pretrained"] is True, r.text
        jobs.append(r.json()["id"])
    for job in jobs:
        events = wait_for(api, job, lambda p: p["terminal"], 300)
        assert events[-1]["data"]["status"] == "completed", events[-1]
    lines = log.read_text().splitlines()
    armed = [line for line in lines if line.endswith(" armed") and "functions" in line]
    assert len(armed) >= 3, lines  # the hook really ran inside the workers
    reached = [line for line in lines if not line.endswith(" armed")]
    assert reached == [], reached
