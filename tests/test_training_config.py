"""The model catalog, the config schema, and training job creation refusing what does not
fit them: a 4xx in the common error shape that names the field, and nothing created."""

from __future__ import annotations

import pytest

from contract import training_config
from tests import dataset_builders as build
from tests.conftest import upload_dataset


@pytest.fixture()
def owner(make_user):  # type: ignore[no-untyped-def]
    return make_user()


@pytest.fixture()
def dataset(client, owner):  # type: ignore[no-untyped-def]
    files = build.imagefolder_files(train=4, val=2)
    r = upload_dataset(client, owner, archive=("d.zip", build.zip_bytes(files)))
    assert r.json()["status"] == "ready", r.text
    return r.json()


def _create(client, owner, dataset, **fields):  # type: ignore[no-untyped-def]
    body = {"dataset_id": dataset["id"], "framework": "timm", "model_name": "resnet18",
            "start": False} | fields  # fmt: skip
    return client.post("/api/v1/training/jobs", json=body, headers=owner.headers)


def test_the_catalog_lists_models_by_task_and_framework(client, owner):
    r = client.get("/api/v1/models", headers=owner.headers)
    assert r.status_code == 200
    names = {(m["framework"], m["name"]) for m in r.json()["models"]}
    assert {("timm", "resnet18"), ("ultralytics", "yolo11n"), ("transformers", "vit-tiny")} <= names
    det = client.get("/api/v1/models?task_type=object_detection", headers=owner.headers).json()
    assert det["models"] and all("object_detection" in m["task_types"] for m in det["models"])
    timm = client.get("/api/v1/models?framework=timm", headers=owner.headers).json()["models"]
    assert {m["framework"] for m in timm} == {"timm"}
    resnet = next(m for m in timm if m["name"] == "resnet18")
    assert resnet["parameters"] == 11_689_512 and resnet["default_image_size"] == 224
    bad = client.get("/api/v1/models?task_type=painting", headers=owner.headers)
    assert bad.status_code == 422 and "error" in bad.json()


def test_the_catalog_says_where_registry_weights_fit(client, owner, make_user):
    import numpy as np
    from safetensors.numpy import save

    def available(account) -> bool:  # type: ignore[no-untyped-def]
        models = client.get("/api/v1/models?framework=timm", headers=account.headers).json()
        return next(m for m in models["models"] if m["name"] == "efficientnet_b0")[
            "pretrained_available"
        ]

    stranger = make_user()
    public = client.get(
        "/api/v1/pretrained-weights?base_architecture=efficientnet_b0", headers=stranger.headers
    ).json()["total"]
    r = client.post(
        "/api/v1/pretrained-weights",
        data={"name": "mine", "framework": "timm", "base_architecture": "efficientnet_b0"},
        files={"file": ("w.safetensors", save({"w": np.zeros(2, np.float32)}), "x/y")},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    assert available(owner) is True
    assert available(stranger) is (public > 0)  # a private file is not theirs to use


def test_the_config_schema_has_typed_fields_and_presets(client, owner):
    r = client.get(
        "/api/v1/training/config-schema?framework=ultralytics&task_type=object_detection",
        headers=owner.headers,
    )
    assert r.status_code == 200
    schema = r.json()
    fields = {f["name"]: f for f in schema["fields"]}
    assert fields["epochs"]["type"] == "integer" and fields["epochs"]["min"] == 1
    assert {o["value"] for o in fields["optimizer"]["options"]} == {"adamw", "adam", "sgd"}
    assert "mosaic" in fields and "label_smoothing" not in fields  # per framework and task
    assert set(schema["presets"]) == {"basic", "standard", "aggressive"}
    assert all(set(p) <= set(fields) for p in schema["presets"].values())
    unknown = client.get(
        "/api/v1/training/config-schema?framework=caffe&task_type=object_detection",
        headers=owner.headers,
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "bad_model"


def test_every_preset_is_a_valid_config_for_every_framework_and_task():
    from contract import catalog

    for model in catalog.MODELS:
        for task in model.task_types:
            for preset in training_config.PRESETS:
                config = training_config.validate(model.framework, task, {}, preset)
                assert config["epochs"] == training_config.PRESETS[preset]["epochs"]


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        ({"epochs": 0}, "config.epochs", "at least 1"),
        ({"epochs": 2.5}, "config.epochs", "integer"),
        ({"learning_rate": "fast"}, "config.learning_rate", "number"),
        ({"optimizer": "lion"}, "config.optimizer", "one of adamw, adam, sgd"),
        ({"pretrained": "yes"}, "config.pretrained", "true or false"),
        ({"mosaic": 0.5}, "config.mosaic", "not a setting for timm"),
        ({"batch_sise": 8}, "config.batch_sise", "not a setting"),
    ],
)
def test_a_bad_config_value_answers_422_naming_the_field(
    client, owner, dataset, config, field, words
):  # type: ignore[no-untyped-def]
    r = _create(client, owner, dataset, config=config)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_config" and error["message"].startswith(field)
    assert words in error["message"] and error["details"][0]["field"] == field
    listed = client.get("/api/v1/training/jobs", headers=owner.headers).json()
    assert listed["total"] == 0  # nothing was created


@pytest.mark.parametrize(
    ("fields", "code", "status"),
    [
        ({"framework": "caffe"}, "bad_model", 422),
        ({"model_name": "resnet9000"}, "bad_model", 422),
        ({"model_name": "yolo11n", "framework": "ultralytics"}, "bad_task", 422),
        ({"preset": "extreme"}, "invalid_config", 422),
        ({"dataset_id": "00000000-0000-0000-0000-000000000000"}, "not_found", 404),
        ({"pretrained_weight_id": "00000000-0000-0000-0000-000000000000"}, "not_found", 404),
    ],
)
def test_training_jobs_refuse_what_the_catalog_does_not_know(
    client, owner, dataset, fields, code, status
):  # type: ignore[no-untyped-def]
    r = _create(client, owner, dataset, **fields)
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text
    assert client.get("/api/v1/training/jobs", headers=owner.headers).json()["total"] == 0


def test_a_valid_job_is_created_pending_with_its_complete_config(client, owner, dataset):
    r = _create(client, owner, dataset, preset="basic", config={"epochs": 3, "image_size": 32})
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["status"] == "pending" and job["attempt"] == 0 and job["total_epochs"] == 3
    assert job["config"]["optimizer"] == "adam" and job["config"]["epochs"] == 3  # preset, then own
    assert job["config"]["seed"] == 42 and job["dataset_snapshot_id"]
    assert job["task_type"] == "image_classification"
    again = client.post(f"/api/v1/training/jobs/{job['id']}/resume", headers=owner.headers)
    assert again.status_code == 409  # nothing ran, nothing to resume
    assert (
        client.get(f"/api/v1/training/jobs/{job['id']}/metrics", headers=owner.headers).json()[
            "epochs"
        ]
        == []
    )


def test_a_test_run_needs_a_checkpoint(client, owner, dataset):
    job = _create(client, owner, dataset).json()
    r = client.post(
        "/api/v1/test-runs",
        json={"training_job_id": job["id"], "dataset_id": dataset["id"]},
        headers=owner.headers,
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_checkpoint"
    r = client.post(
        "/api/v1/inference/upload",
        data={"training_job_id": job["id"]},
        files=[("files", ("a.png", b"x", "image/png"))],
        headers=owner.headers,
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_checkpoint"


def test_a_parsed_config_is_typed_and_stores_exactly_the_fields_that_apply() -> None:
    config = training_config.parse("timm", "image_classification", {"epochs": 3}, "basic")
    assert (config.epochs, config.optimizer, config.label_smoothing) == (3, "adam", 0.0)
    stored = config.stored()
    assert "mosaic" not in stored  # an Ultralytics detection setting
    assert stored == training_config.validate(
        "timm", "image_classification", {"epochs": 3}, "basic"
    )
    assert training_config.TrainingConfig.model_validate(stored).stored() == stored


def test_a_stored_config_lacking_a_setting_reads_back_with_its_default() -> None:
    config = training_config.TrainingConfig.model_validate({"epochs": 2})
    assert (config.epochs, config.seed, config.mixed_precision) == (2, 42, True)
