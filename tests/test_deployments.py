"""Deployments of an export: the four strategies, the lifecycle and its history, API keys.

The export is real: a timm resnet18 (random weights, 10 classes, 32 px) saved as the
timm trainer saves checkpoints, exported to ONNX by `exporters.registry.export` and
packaged by `exporters.package.build_package`, its files put in the API's storage and a
completed export row written for a training job the user owns (the lead's export jobs
produce exactly such a row; training a model here would only cost time).
"""

from __future__ import annotations

import functools
import hashlib
import io
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import dataset_builders as build


@dataclass(frozen=True)
class Exported:
    folder: Path  # model.onnx + metadata.json: what vap_runtime.Model reads
    model_file: Path
    metadata_file: Path
    package: Path
    checksum_sha256: str


@functools.cache
def exported_model(model_name: str = "resnet18", image_size: int = 32) -> Exported:
    """A real ONNX export of a randomly initialised timm model, built once per session."""
    from trainers import offline

    offline.apply()
    import timm
    import torch

    from exporters.package import build_package
    from exporters.registry import export
    from trainers.timm_trainer import CHECKPOINT_FORMAT, TASK_TYPE, _size_kwargs

    folder = Path(tempfile.mkdtemp(prefix="vap-deploy-export-"))
    torch.manual_seed(0)
    kwargs = _size_kwargs(model_name, image_size)
    model = timm.create_model(model_name, pretrained=False, num_classes=10, **kwargs)
    checkpoint = folder / "best.pt"
    torch.save(
        {
            "format": CHECKPOINT_FORMAT,
            "framework": "timm",
            "task_type": TASK_TYPE,
            "model_name": model_name,
            "class_names": [f"digit_{i}" for i in range(10)],
            "image_size": image_size,
            "model_kwargs": kwargs,
            "mean": [0.485, 0.456, 0.406],
            "std": [0.229, 0.224, 0.225],
            "pretrained_loaded": False,
            "model": model.state_dict(),
            "epoch": 1,
        },
        checkpoint,
    )
    result = export(checkpoint, "timm", "onnx", folder / "export", latency_runs=1)
    package = build_package(result, folder / "package.zip")
    digest = hashlib.sha256(result.model_file.read_bytes()).hexdigest()
    return Exported(
        folder=result.model_file.parent,
        model_file=result.model_file,
        metadata_file=result.metadata_file,
        package=package,
        checksum_sha256=digest,
    )


def training_job(client: Any, headers: dict[str, str] | None = None) -> str:
    """A training job (not started) of the caller, on a small dataset of their own."""
    files = build.imagefolder_files(train=2, val=1)
    parts = [("files", (n, d, "application/octet-stream")) for n, d in files.items()]
    name = {"name": "deploy " + uuid.uuid4().hex[:6]}
    r = client.post("/api/v1/datasets", data=name, files=parts, headers=headers)
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/v1/training/jobs",
        json={"dataset_id": r.json()["id"], "framework": "timm", "model_name": "resnet18",
              "start": False},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def export_row(
    user_id: str,
    training_job_id: str,
    exported: Exported | None = None,
    *,
    fmt: str = "onnx",
    status: str = "completed",
    settings: Any = None,
    version_tag: str | None = None,
    artifacts: tuple[str, ...] = ("package",),
    task_type: str = "image_classification",
    framework: str = "timm",
) -> str:
    """An export row as the export function leaves a completed one; with `exported`, its
    files are put in storage (`settings`' storage; default the process settings')."""
    from sqlalchemy import func, select

    from api.db.models import ExportFormat, ExportJob, JobStatus
    from api.db.session import new_session
    from api.services.storage import get_storage

    export_id = uuid.uuid4()
    prefix = f"exports/{export_id}/"
    keys = {
        "export_key": prefix + "model.onnx",
        "metadata_key": prefix + "metadata.json",
        "package_key": prefix + "package.zip",
    }
    checksum = "0" * 64
    if exported is not None:
        storage = get_storage(settings)
        storage.put_file(keys["export_key"], exported.model_file)
        storage.put_file(keys["metadata_key"], exported.metadata_file)
        storage.put_file(keys["package_key"], exported.package)
        for name in artifacts:
            if name != "package":
                storage.put_bytes(prefix + f"{name}.zip", b"PK\x05\x06" + b"\0" * 18)
        checksum = exported.checksum_sha256
    with new_session() as db:
        job_id = uuid.UUID(training_job_id)
        version = (
            db.scalar(
                select(func.max(ExportJob.version)).where(ExportJob.training_job_id == job_id)
            )
            or 0
        ) + 1
        db.add(
            ExportJob(
                id=export_id,
                user_id=uuid.UUID(user_id),
                training_job_id=job_id,
                version=version,
                version_tag=version_tag,
                format=ExportFormat(fmt),
                status=JobStatus(status),
                task_type=task_type,
                framework=framework,
                config={},
                checksum_sha256=checksum,
                model_info={
                    "size_bytes": 1,
                    "latency_ms": 1.0,
                    "artifacts": {
                        n: keys["package_key"] if n == "package" else prefix + f"{n}.zip"
                        for n in artifacts
                    },
                },
                completed_at=datetime.now(UTC) if status == "completed" else None,
                **keys,
            )
        )
        db.commit()
    return str(export_id)


@pytest.fixture()
def owner(client, make_user):  # type: ignore[no-untyped-def]
    account = make_user("engineer_i")
    return account, training_job(client, account.headers)


def _deploy(client, account, export_id: str, strategy: str, **body: Any) -> httpx.Response:  # type: ignore[no-untyped-def]
    payload = {"export_job_id": export_id, "strategy": strategy, "name": f"{strategy} deploy"}
    return client.post("/api/v1/deployments", json=payload | body, headers=account.headers)


def test_a_download_deployment_hands_out_an_expiring_url_of_the_package(client, owner):
    account, job = owner
    exported = exported_model()
    export_id = export_row(account.id, job, exported)
    r = _deploy(client, account, export_id, "download")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "active" and body["api_key"] is None and body["endpoint_url"] is None
    assert datetime.fromisoformat(body["download_expires_at"]) > datetime.now(UTC)
    package = client.get(body["download_url"])
    assert package.status_code == 200 and package.content == exported.package.read_bytes()
    with zipfile.ZipFile(io.BytesIO(package.content)) as z:
        assert {"metadata.json", "vap_runtime.py"} <= set(z.namelist())
    again = client.get(f"/api/v1/deployments/{body['id']}/download", headers=account.headers)
    assert again.status_code == 200 and client.get(again.json()["url"]).content == package.content


@pytest.mark.parametrize("strategy", ["edge_package", "container"])
def test_edge_and_container_deployments_hand_out_their_own_artifact(client, owner, strategy):
    account, job = owner
    export_id = export_row(account.id, job, exported_model(), artifacts=("package", strategy))
    r = _deploy(client, account, export_id, strategy)
    assert r.status_code == 201, r.text
    assert f"{strategy}.zip" in r.json()["download_url"]
    # An export without that artifact has nothing to deploy that way.
    bare = export_row(account.id, job, exported_model())
    r = _deploy(client, account, bare, strategy)
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_artifact"


def test_a_platform_endpoint_gets_a_url_and_a_key_shown_once_and_stored_hashed(client, owner):
    from sqlalchemy import select

    from api.db.models import ApiKey
    from api.db.session import new_session

    account, job = owner
    export_id = export_row(account.id, job, exported_model())
    r = _deploy(client, account, export_id, "platform_endpoint", tier="pro")
    assert r.status_code == 201, r.text
    body = r.json()
    key = body["api_key"]
    assert key.startswith("vap_live_") and len(key) == len("vap_live_") + 32
    assert body["endpoint_url"] == f"http://testserver/v1/infer/{body['id']}"
    assert body["api_key_prefix"] == key[:17] and body["tier"] == "pro"
    assert body["config"] == {"device": "cpu"} and body["download_url"] is None
    shown = client.get(f"/api/v1/deployments/{body['id']}", headers=account.headers).json()
    assert "api_key" not in shown and shown["api_key_prefix"] == key[:17]
    with new_session() as db:
        (row,) = db.scalars(select(ApiKey).where(ApiKey.deployment_id == uuid.UUID(body["id"])))
        assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
        assert key not in {str(v) for v in vars(row).values()}  # the key itself is nowhere
    listed = client.get("/api/v1/deployments", headers=account.headers).json()
    assert [d["id"] for d in listed["items"]] == [body["id"]] and listed["total"] == 1


def test_deployments_are_refused_for_exports_that_cannot_serve_them(client, owner, make_user):
    account, job = owner
    done = export_row(account.id, job, exported_model())
    running = export_row(account.id, job, status="running")
    torchscript = export_row(account.id, job, exported_model(), fmt="torchscript")
    stranger = make_user("engineer_i")

    def error(r: httpx.Response, status: int) -> str:
        assert r.status_code == status, r.text
        return str(r.json()["error"]["code"])

    assert error(_deploy(client, stranger, done, "download"), 404) == "not_found"
    assert error(_deploy(client, account, str(uuid.uuid4()), "download"), 404) == "not_found"
    assert error(_deploy(client, account, running, "download"), 409) == "not_completed"
    r = _deploy(client, account, torchscript, "platform_endpoint")
    assert error(r, 422) == "unsupported_format"
    r = _deploy(client, account, done, "platform_endpoint", config={"device": "gpu"})
    assert error(r, 422) == "gpu_not_in_tier"  # free has no GPU
    assert error(_deploy(client, account, done, "somewhere"), 422) == "validation_error"
    assert error(_deploy(client, account, done, "download", tier="gold"), 422) == "validation_error"
    # None of these left a deployment behind.
    assert client.get("/api/v1/deployments", headers=account.headers).json()["total"] == 0


def test_the_lifecycle_is_recorded_in_the_history(client, owner):
    account, job = owner
    export_id = export_row(account.id, job, exported_model())
    created = _deploy(client, account, export_id, "platform_endpoint").json()
    url = f"/api/v1/deployments/{created['id']}"
    h = account.headers
    assert client.post(f"{url}/deactivate", headers=h).json()["status"] == "inactive"
    assert client.post(f"{url}/deactivate", headers=h).status_code == 200  # no change, no event
    assert client.post(f"{url}/activate", headers=h).json()["status"] == "active"
    rotated = client.post(f"{url}/api-keys", headers=h)
    assert rotated.status_code == 201 and rotated.json()["api_key"] != created["api_key"]
    assert client.get(url, headers=h).json()["api_key_prefix"] == rotated.json()["prefix"]
    events = client.get(f"{url}/history", headers=h).json()
    assert [(e["event_type"], e["status_before"], e["status_after"]) for e in events] == [
        ("deployed", None, "active"),
        ("api_key_created", "active", "active"),
        ("deactivated", "active", "inactive"),
        ("activated", "inactive", "active"),
        ("api_key_rotated", "active", "active"),
    ]
    assert events[-1]["event_data"]["revoked"] == [created["api_key_prefix"]]
    assert client.delete(url, headers=h).status_code == 204
    assert client.get(url, headers=h).status_code == 404
    assert client.get(f"{url}/history", headers=h).status_code == 404
    # With its deployment gone the export can be deleted (it was in use before).
    assert client.delete(url, headers=h).status_code == 404


def test_a_download_deployment_has_no_api_keys(client, owner):
    account, job = owner
    created = _deploy(client, account, export_row(account.id, job, exported_model()), "download")
    r = client.post(f"/api/v1/deployments/{created.json()['id']}/api-keys", headers=account.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_endpoint"
