"""Walk every route of the API as a second user, against the first user's resources.

A user never reads, lists, changes or learns of another user's resource: a foreign id
answers exactly as a missing one does (404). The walk enumerates the app's routes, so
a route added later fails this test until it is classified below: that is deliberate.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute

from tests import dataset_builders as build
from tests.conftest import upload_dataset
from tests.jobs import diagnostic_job

# Answer without a user: open to all, or authorised by something else than a login.
PUBLIC = {
    ("GET", "/health"),
    ("GET", "/metrics"),
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/v1/training/config-schema"),  # static: the same for everyone
    ("GET", "/v1/health"),
}
# Authorised by an HMAC signature in the URL (tests/test_storage.py checks forgeries),
# or by a job-scoped callback token (tests/test_job_callbacks.py checks those).
SIGNED_PREFIXES = ("/api/v1/storage/",)
JOB_CALLBACKS = {
    "/api/v1/jobs/{job_id}/heartbeat",
    "/api/v1/jobs/{job_id}/event",
    "/api/v1/jobs/{job_id}/validation",
    "/api/v1/jobs/{job_id}/artifacts",
    "/api/v1/jobs/{job_id}/done",
    "/api/v1/jobs/{job_id}/inputs/files",
}
# The pay-per-call endpoint, authorised by a deployment's API key (its usage also by the
# owner's login); tests/test_endpoint.py checks other users' keys and deployments.
API_KEY_ROUTES = {
    ("POST", "/v1/infer/{deployment_id}"),
    ("GET", "/v1/deployments/{deployment_id}/usage"),
}
# What every logged-in user may read about the installation itself (no user's data).
SHARED = {("GET", "/api/v1/runners/{runner}/capabilities")}
# Path parameters that name parts of the installation, not anyone's resources.
INSTALLATION_NAMES = {"runner": "local"}
# Administrative routes: a non-manager gets 403 whatever the id.
MANAGER_PREFIXES = ("/api/v1/users", "/api/v1/operations/")
# Routes with no id in the path that act only on the caller's own data, with a body that
# may name other resources: the request (httpx keyword arguments) is built with the
# *first* user's ids, and must answer 404.
COLLECTION_WRITES: dict[tuple[str, str], Callable[[World], dict[str, Any]] | None] = {
    ("POST", "/api/v1/projects"): None,  # names no other resource
    ("PATCH", "/api/v1/auth/me"): None,  # the caller's own account
    ("POST", "/api/v1/datasets"): lambda w: {
        "data": {"name": "into your project", "project_id": w.ids["project_id"]},
        "files": [("files", ("d.zip", build.zip_bytes(build.imagefolder_files(train=2, val=1))))],
    },
    ("POST", "/api/v1/diagnostics/jobs"): None,  # names no other resource
    ("POST", "/api/v1/webhooks"): None,  # names no other resource
    ("POST", "/api/v1/pretrained-weights"): None,  # names no other resource
    ("POST", "/api/v1/training/jobs"): lambda w: {
        "json": {
            "dataset_id": w.ids["dataset_id"],
            "framework": "timm",
            "model_name": "resnet18",
            "project_id": w.ids["project_id"],
            "start": False,
        }
    },  # fmt: skip
    ("POST", "/api/v1/test-runs"): lambda w: {
        "json": {"training_job_id": w.ids["training_job_id"], "dataset_id": w.ids["dataset_id"]}
    },
    ("POST", "/api/v1/inference/jobs"): lambda w: {
        "json": {"training_job_id": w.ids["training_job_id"], "dataset_id": w.ids["dataset_id"]}
    },
    ("POST", "/api/v1/export/jobs"): lambda w: {
        "json": {"training_job_id": w.ids["training_job_id"], "validate": False}
    },
    ("POST", "/api/v1/deployments"): lambda w: {
        "json": {"export_job_id": w.ids["export_job_id"], "strategy": "download", "name": "x"}
    },
    ("POST", "/api/v1/inference/upload"): lambda w: {
        "data": {"training_job_id": w.ids["training_job_id"]},
        "files": [("files", ("a.png", build.digits_png(0), "image/png"))],
    },
    ("POST", "/api/v1/chat/message"): lambda w: {
        "json": {"message": "use 20 epochs", "conversation_id": w.ids["conversation_id"]}
    },
    ("POST", "/api/v1/datasets/uploads"): lambda w: {
        "json": {
            "name": "into your project",
            "project_id": w.ids["project_id"],
            "filename": "d.zip",
            "size_bytes": 1000,
        }
    },
}
# Bodies sent to id routes (valid ones, so the answer is about the id); default {}.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/api/v1/pretrained-weights/{weight_id}"): {"name": "walk"},
    ("POST", "/api/v1/datasets/{dataset_id}/split"): {"strategy": "ratio"},
    ("POST", "/api/v1/datasets/{dataset_id}/snapshots"): {"version_tag": "walk"},
    ("POST", "/api/v1/datasets/uploads/{dataset_id}/complete"): {
        "parts": [{"part_number": 1, "etag": "x"}]
    },
}


@dataclass
class World:
    """The first user's resources, which the second user must not reach."""

    owner: Any
    intruder: Any
    ids: dict[str, str] = field(default_factory=dict)  # path parameter name -> owner's id

    def all_ids(self) -> set[str]:
        return set(self.ids.values())


def _api_routes(routes, prefix: str = "") -> Iterator[tuple[str, APIRoute]]:  # type: ignore[no-untyped-def]
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix, route
        elif hasattr(route, "original_router"):
            # FastAPI >= 0.16x keeps included routers as branches instead of copying routes.
            yield from _api_routes(
                route.original_router.routes, prefix + route.include_context.prefix
            )


def _routes(app) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    found = []
    for prefix, route in _api_routes(app.routes):
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            found.append((method, prefix + route.path))
    # A walk that finds nothing would pass every test below vacuously.
    assert len(found) >= 10, f"route walk found only {found}"
    return iter(found)


def _params(path: str) -> list[str]:
    return re.findall(r"{(\w+)(?::\w+)?}", path)


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"{(\w+)(?::\w+)?}", lambda m: values[m.group(1)], path)


def _ids_in(payload: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(payload, dict):
        for key, value in payload.items():
            if isinstance(value, str) and (key == "id" or key.endswith("_id")):
                found.add(value)
            found |= _ids_in(value)
    elif isinstance(payload, list):
        for item in payload:
            found |= _ids_in(item)
    return found


@pytest.fixture()
def world(client, make_user) -> World:
    owner, intruder = make_user("engineer_ii"), make_user("engineer_ii")
    w = World(owner=owner, intruder=intruder)
    project = client.post("/api/v1/projects", json={"name": "private work"}, headers=owner.headers)
    w.ids["project_id"] = project.json()["id"]
    w.ids["user_id"] = owner.id
    files = build.imagefolder_files(train=2, val=1)
    dataset = upload_dataset(client, owner, files=files, project_id=w.ids["project_id"])
    assert dataset.json()["status"] == "ready", dataset.text
    w.ids["dataset_id"] = dataset.json()["id"]
    snapshot = client.post(
        f"/api/v1/datasets/{w.ids['dataset_id']}/snapshots",
        json={"version_tag": "v1"},
        headers=owner.headers,
    )
    w.ids["snapshot_id"] = snapshot.json()["id"]
    w.ids["job_id"] = str(_queued_diagnostic_job(owner.id))
    # A training job (with checkpoints, as if it had run) on a dataset of its own, and a
    # test run and an inference job of it.
    other = upload_dataset(client, owner, files=build.imagefolder_files(train=2, val=1))
    trained = client.post(
        "/api/v1/training/jobs",
        json={"dataset_id": other.json()["id"], "framework": "timm", "model_name": "resnet18",
              "start": False},
        headers=owner.headers,
    )  # fmt: skip
    assert trained.status_code == 201, trained.text
    w.ids["training_job_id"] = trained.json()["id"]
    w.ids["test_run_id"], w.ids["inference_job_id"] = _model_jobs(owner.id, trained.json()["id"])
    w.ids["export_job_id"] = _completed_export(owner.id, trained.json()["id"])
    deployment = client.post(
        "/api/v1/deployments",
        json={"export_job_id": w.ids["export_job_id"], "strategy": "platform_endpoint",
              "name": "private endpoint"},
        headers=owner.headers,
    )  # fmt: skip
    assert deployment.status_code == 201, deployment.text
    w.ids["deployment_id"] = deployment.json()["id"]
    hook = client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["*"]},
        headers=owner.headers,
    )
    w.ids["webhook_id"] = hook.json()["id"]
    weight = client.post(
        "/api/v1/pretrained-weights",
        data={"name": "private weights", "framework": "timm", "base_architecture": "resnet18"},
        files={"file": ("w.safetensors", _tiny_safetensors(), "application/octet-stream")},
        headers=owner.headers,
    )
    assert weight.status_code == 201, weight.text
    w.ids["weight_id"] = weight.json()["id"]
    chat = client.post(
        "/api/v1/chat/message",
        json={"message": "train resnet18 for 5 epochs", "conversation_id": None},
        headers=owner.headers,
    )
    assert chat.status_code == 200, chat.text
    w.ids["conversation_id"] = chat.json()["conversation_id"]
    return w


def _tiny_safetensors() -> bytes:
    import numpy as np
    from safetensors.numpy import save

    return save({"w": np.zeros(2, dtype=np.float32)})


def _queued_diagnostic_job(user_id: str) -> uuid.UUID:
    """A job as the dispatcher leaves it, without starting a worker."""
    return diagnostic_job(user_id)


def _model_jobs(user_id: str, training_job_id: str) -> tuple[str, str]:
    """A test run and an inference job of the training job, written as the dispatcher
    leaves them (no worker), after giving the training job a checkpoint."""
    from api.db.models import InferenceJob, InferenceType, JobStatus, TestRun, TrainingJob
    from api.db.session import new_session

    with new_session() as db:
        trained = db.get(TrainingJob, uuid.UUID(training_job_id))
        trained.best_checkpoint_key = f"checkpoints/{training_job_id}/best.ckpt"
        common = {"user_id": uuid.UUID(user_id), "training_job_id": trained.id,
                  "task_type": trained.task_type, "framework": "timm",
                  "status": JobStatus.QUEUED, "attempt": 1}  # fmt: skip
        run = TestRun(dataset_id=trained.dataset_id, **common)
        infer = InferenceJob(inference_type=InferenceType.SINGLE, **common)
        db.add_all([run, infer])
        db.commit()
        return str(run.id), str(infer.id)


def _completed_export(user_id: str, training_job_id: str) -> str:
    """A completed export of the training job, as the export function leaves it (the
    files are not there: the walk is about ids, not contents)."""
    from api.db.models import ExportFormat, ExportJob, JobStatus
    from api.db.session import new_session

    with new_session() as db:
        job = ExportJob(
            user_id=uuid.UUID(user_id), training_job_id=uuid.UUID(training_job_id),
            task_type="image_classification", framework="timm", format=ExportFormat.ONNX,
            version=1, status=JobStatus.COMPLETED, attempt=1, config={"format": "onnx"},
        )  # fmt: skip
        db.add(job)
        db.flush()
        prefix = f"exports/{job.id}/"
        job.export_key, job.metadata_key = prefix + "model.onnx", prefix + "metadata.json"
        job.package_key = prefix + "package.zip"
        job.checksum_sha256 = "0" * 64
        job.model_info = {"size_bytes": 1, "artifacts": {"package": job.package_key}}
        db.commit()
        return str(job.id)


def _classify(method: str, path: str) -> str:
    if (method, path) in PUBLIC:
        return "public"
    if path.startswith(SIGNED_PREFIXES) or path in JOB_CALLBACKS:
        return "signed"
    if (method, path) in API_KEY_ROUTES:
        return "signed"
    if path.startswith(MANAGER_PREFIXES):
        return "manager"
    if (method, path) in SHARED:
        return "shared"
    if _params(path):
        return "owned"
    if method == "GET":
        return "listing"
    if (method, path) in COLLECTION_WRITES:
        return "collection_write"
    return "unclassified"


def test_every_route_is_classified(app):
    unclassified = [f"{m} {p}" for m, p in _routes(app) if _classify(m, p) == "unclassified"]
    assert not unclassified, f"classify these routes in tests/test_ownership.py: {unclassified}"


def test_every_private_route_requires_a_login(client, app, world):
    for method, path in _routes(app):
        if _classify(method, path) in ("public", "signed"):
            continue
        url = _fill(path, {p: world.ids.get(p, str(uuid.uuid4())) for p in _params(path)})
        r = client.request(method, url, json=BODIES.get((method, path), {}))
        assert r.status_code == 401, f"{method} {path} answered {r.status_code} without a token"
        assert r.json()["error"]["code"] == "not_authenticated"


def test_a_foreign_id_answers_exactly_as_a_missing_one(client, app, world):
    checked = 0
    for method, path in _routes(app):
        if _classify(method, path) != "owned":
            continue
        params = _params(path)
        missing = [p for p in params if p not in world.ids]
        assert not missing, f"{method} {path}: add the owner's {missing} to the world fixture"
        body = BODIES.get((method, path), {})
        foreign = client.request(
            method, _fill(path, world.ids), json=body, headers=world.intruder.headers
        )
        absent = client.request(
            method,
            _fill(path, {p: str(uuid.uuid4()) for p in params}),
            json=body,
            headers=world.intruder.headers,
        )
        assert foreign.status_code == 404, (
            f"{method} {path} leaked: {foreign.status_code} {foreign.text}"
        )
        assert foreign.json() == absent.json(), (
            f"{method} {path} tells foreign ids from missing ones"
        )
        checked += 1
    assert checked >= 35


def test_listings_never_show_another_users_resources(client, app, world):
    for method, path in _routes(app):
        if _classify(method, path) != "listing":
            continue
        r = client.get(path, headers=world.intruder.headers)
        assert r.status_code == 200, f"GET {path}: {r.status_code}"
        leaked = _ids_in(r.json()) & (world.all_ids() - {world.intruder.id})
        assert not leaked, f"GET {path} shows the other user's {leaked}"


def test_collection_writes_cannot_reach_another_users_resources(client, app, world):
    for (method, path), request in COLLECTION_WRITES.items():
        if request is None:
            continue
        r = client.request(method, path, headers=world.intruder.headers, **request(world))
        assert r.status_code == 404, f"{method} {path} accepted the other user's ids: {r.text}"


def test_administrative_routes_refuse_non_managers(client, app, world):
    for method, path in _routes(app):
        if _classify(method, path) != "manager":
            continue
        url = _fill(path, {**world.ids, **INSTALLATION_NAMES})
        r = client.request(
            method, url, json=BODIES.get((method, path), {}), headers=world.intruder.headers
        )
        assert r.status_code == 403, f"{method} {path}: {r.status_code}"


def test_the_owners_resources_are_untouched_after_the_walk(client, app, world):
    test_a_foreign_id_answers_exactly_as_a_missing_one(client, app, world)
    r = client.get(f"/api/v1/projects/{world.ids['project_id']}", headers=world.owner.headers)
    assert r.status_code == 200 and r.json()["name"] == "private work"
    r = client.get(f"/api/v1/datasets/{world.ids['dataset_id']}", headers=world.owner.headers)
    assert r.status_code == 200 and r.json()["status"] == "ready"
    r = client.get(
        f"/api/v1/datasets/{world.ids['dataset_id']}/snapshots", headers=world.owner.headers
    )
    assert [s["version_tag"] for s in r.json()] == ["v1"]
    r = client.get(
        f"/api/v1/pretrained-weights/{world.ids['weight_id']}", headers=world.owner.headers
    )
    assert r.status_code == 200 and r.json()["name"] == "private weights"
    r = client.get(
        f"/api/v1/training/jobs/{world.ids['training_job_id']}", headers=world.owner.headers
    )
    assert r.status_code == 200 and r.json()["status"] == "pending"
    r = client.get(f"/api/v1/deployments/{world.ids['deployment_id']}", headers=world.owner.headers)
    assert r.status_code == 200 and r.json()["status"] == "active"
    r = client.get(
        f"/api/v1/chat/conversations/{world.ids['conversation_id']}", headers=world.owner.headers
    )
    assert r.status_code == 200 and len(r.json()["messages"]) == 2
