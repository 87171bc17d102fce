"""A dataset's life: direct upload, listing and filters, changes, re-splitting,
snapshots that stay identical or are found broken, deletion that leaves nothing.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from api.services.storage import get_storage
from api.settings import get_settings
from tests import dataset_builders as build
from tests.conftest import upload_dataset

FILES = build.imagefolder_files(classes=(0, 1, 2), train=4, val=2)


@pytest.fixture()
def engineer(make_user):  # type: ignore[no-untyped-def]
    return make_user("engineer_ii")


@pytest.fixture()
def dataset(client, engineer) -> dict:  # type: ignore[no-untyped-def]
    body = upload_dataset(
        client, engineer, files=FILES, name="digits", description="scikit-learn digits"
    ).json()
    assert body["status"] == "ready"
    return body


def _storage():  # type: ignore[no-untyped-def]
    return get_storage(get_settings())


def test_direct_upload_goes_to_storage_in_parts_then_is_ingested(client, engineer):
    data = build.zip_bytes(FILES)
    r = client.post(
        "/api/v1/datasets/uploads",
        json={
            "name": "direct",
            "filename": "digits.zip",
            "size_bytes": len(data),
            "split": {"seed": 3},
        },
        headers=engineer.headers,
    )
    assert r.status_code == 201, r.text
    upload = r.json()
    assert len(upload["parts"]) == 1 and upload["part_size"] >= 8 * 2**20
    state = client.get(f"/api/v1/datasets/{upload['dataset_id']}", headers=engineer.headers).json()
    assert state["status"] == "uploading"
    # The client PUTs the bytes to the presigned URL, with no login.
    put = client.put(upload["parts"][0]["url"], content=data)
    assert put.status_code == 200
    done = client.post(
        f"/api/v1/datasets/uploads/{upload['dataset_id']}/complete",
        json={"parts": [{"part_number": 1, "etag": put.headers["etag"]}]},
        headers=engineer.headers,
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "ready" and body["num_images"] == 18
    assert body["split_config"]["seed"] == 3
    assert _storage().get_bytes(f"datasets/{body['id']}/original/digits.zip") == data
    # Completing twice is a conflict, not a second ingest.
    again = client.post(
        f"/api/v1/datasets/uploads/{body['id']}/complete",
        json={"parts": [{"part_number": 1, "etag": put.headers["etag"]}]},
        headers=engineer.headers,
    )
    assert again.status_code == 409


def test_direct_upload_with_a_wrong_etag_can_be_retried_or_deleted(client, engineer):
    data = build.zip_bytes(FILES)
    upload = client.post(
        "/api/v1/datasets/uploads",
        json={"name": "direct", "filename": "d.zip", "size_bytes": len(data)},
        headers=engineer.headers,
    ).json()
    client.put(upload["parts"][0]["url"], content=data)
    url = f"/api/v1/datasets/uploads/{upload['dataset_id']}/complete"
    r = client.post(
        url, json={"parts": [{"part_number": 1, "etag": "0" * 32}]}, headers=engineer.headers
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_parts"
    state = client.get(f"/api/v1/datasets/{upload['dataset_id']}", headers=engineer.headers).json()
    assert state["status"] == "uploading"
    r = client.delete(f"/api/v1/datasets/{upload['dataset_id']}", headers=engineer.headers)
    assert r.status_code == 204
    assert list(_storage().list(f"datasets/{upload['dataset_id']}/")) == []
    assert not list((get_settings().storage_local_root / ".uploads").glob("*"))


def test_direct_upload_refuses_what_is_not_an_archive_or_too_big(client, engineer):
    for body, code in (
        ({"filename": "x.rar", "size_bytes": 10}, "unsupported_archive"),
        ({"filename": "x.zip", "size_bytes": 10**13}, "upload_too_large"),
    ):
        r = client.post(
            "/api/v1/datasets/uploads", json={"name": "n", **body}, headers=engineer.headers
        )
        assert r.json()["error"]["code"] == code


def test_listing_filters_and_pages(client, make_user):
    user = make_user("engineer_i")
    project = client.post("/api/v1/projects", json={"name": "p"}, headers=user.headers).json()
    upload_dataset(client, user, files=FILES, name="alpha digits", project_id=project["id"])
    upload_dataset(client, user, files=FILES, name="beta", description="more DIGITS")
    upload_dataset(client, user, files={"a.txt": b"no"}, name="broken")

    def names(**params):  # type: ignore[no-untyped-def]
        r = client.get("/api/v1/datasets", params=params, headers=user.headers).json()
        return sorted(d["name"] for d in r["items"]), r["total"]

    assert names() == (["alpha digits", "beta", "broken"], 3)
    assert names(status="error") == (["broken"], 1)
    assert names(q="digits") == (["alpha digits", "beta"], 2)
    assert names(project_id=project["id"]) == (["alpha digits"], 1)
    assert names(format="imagefolder", task_type="image_classification")[1] == 2
    page = client.get(
        "/api/v1/datasets", params={"limit": 2, "offset": 2}, headers=user.headers
    ).json()
    assert len(page["items"]) == 1 and page["total"] == 3


def test_update_and_public_visibility(client, engineer, make_user, dataset):
    other = make_user("engineer_ii")
    url = f"/api/v1/datasets/{dataset['id']}"
    assert client.get(url, headers=other.headers).status_code == 404
    r = client.patch(
        url, json={"name": "renamed", "visibility": "public"}, headers=engineer.headers
    )
    assert r.status_code == 200 and r.json()["name"] == "renamed"
    # Public: others read it and see it listed, but cannot change or delete it.
    assert client.get(url, headers=other.headers).status_code == 200
    listed = client.get("/api/v1/datasets", headers=other.headers).json()["items"]
    assert dataset["id"] in {d["id"] for d in listed}
    assert client.patch(url, json={"name": "mine"}, headers=other.headers).status_code == 403
    assert client.delete(url, headers=other.headers).status_code == 403
    assert client.patch(url, json={"name": None}, headers=engineer.headers).status_code == 422


def test_resplit_by_ratio_and_custom(client, engineer, dataset):
    url = f"/api/v1/datasets/{dataset['id']}"
    r = client.post(
        f"{url}/split",
        json={"strategy": "ratio", "train": 0.5, "val": 0.25, "test": 0.25, "seed": 1},
        headers=engineer.headers,
    )
    assert r.status_code == 200, r.text
    # 18 images at 0.5/0.25/0.25: 9/4.5/4.5, the odd one to val (largest remainder).
    assert r.json()["stats"]["images_per_split"] == {"test": 4, "train": 9, "val": 5}
    manifest = client.get(f"{url}/manifest", headers=engineer.headers).json()
    assignments = {i["path"]: "train" for i in manifest["images"]}
    first = sorted(assignments)[0]
    assignments[first] = "val"
    r = client.post(
        f"{url}/split",
        json={"strategy": "custom", "assignments": assignments},
        headers=engineer.headers,
    )
    assert r.json()["stats"]["images_per_split"] == {"train": 17, "val": 1}
    del assignments[first]
    r = client.post(
        f"{url}/split",
        json={"strategy": "custom", "assignments": assignments},
        headers=engineer.headers,
    )
    assert r.status_code == 400 and r.json()["error"]["details"]["errors"][0]["file"] == first


def test_a_snapshot_freezes_the_manifest_and_the_bytes(client, engineer, dataset):
    url = f"/api/v1/datasets/{dataset['id']}"
    r = client.post(f"{url}/snapshots", json={"version_tag": "v1"}, headers=engineer.headers)
    assert r.status_code == 201, r.text
    snap = r.json()
    assert snap["status"] == "valid" and snap["num_images"] == 18
    assert (
        client.post(
            f"{url}/snapshots", json={"version_tag": "v1"}, headers=engineer.headers
        ).status_code
        == 409
    )

    storage = _storage()
    key = f"datasets/{dataset['id']}/snapshots/{snap['id']}.json"
    body = storage.get_bytes(key)
    assert hashlib.sha256(body).hexdigest() == snap["manifest_sha256"]
    frozen = json.loads(body)
    # Every file's recorded sha256 is the sha256 of the stored bytes.
    for f in frozen["files"]:
        assert (
            hashlib.sha256(storage.get_bytes(frozen["files_prefix"] + f["path"])).hexdigest()
            == f["sha256"]
        )
    # Re-splitting changes the dataset, not the snapshot.
    client.post(
        f"{url}/split",
        json={"strategy": "ratio", "train": 0.5, "val": 0.5, "seed": 9},
        headers=engineer.headers,
    )
    assert storage.get_bytes(key) == body
    assert (
        client.post(f"{url}/snapshots/{snap['id']}/verify", headers=engineer.headers).json()[
            "status"
        ]
        == "valid"
    )
    listed = client.get(f"{url}/snapshots", headers=engineer.headers).json()
    assert [s["version_tag"] for s in listed] == ["v1"]


def test_a_snapshot_whose_files_went_missing_or_changed_is_broken(client, engineer, dataset):
    url = f"/api/v1/datasets/{dataset['id']}"
    snap = client.post(
        f"{url}/snapshots", json={"version_tag": "v2"}, headers=engineer.headers
    ).json()
    frozen = json.loads(
        _storage().get_bytes(f"datasets/{dataset['id']}/snapshots/{snap['id']}.json")
    )
    victim, changed = frozen["files"][0], frozen["files"][1]
    storage = _storage()
    storage.delete(frozen["files_prefix"] + victim["path"])
    r = client.post(f"{url}/snapshots/{snap['id']}/verify", headers=engineer.headers).json()
    assert r["status"] == "broken"
    assert r["integrity_status"]["missing"] == [victim["path"]]
    # Same size, other bytes: only a deep check sees it.
    original = storage.get_bytes(frozen["files_prefix"] + changed["path"])
    storage.put_bytes(frozen["files_prefix"] + changed["path"], bytes(reversed(original)))
    deep = client.post(
        f"{url}/snapshots/{snap['id']}/verify", params={"deep": True}, headers=engineer.headers
    ).json()
    assert deep["integrity_status"]["changed"] == [changed["path"]]
    got = client.get(f"{url}/snapshots/{snap['id']}", headers=engineer.headers).json()
    assert got["status"] == "broken"


def test_snapshots_of_an_unready_dataset_are_refused(client, engineer):
    broken = upload_dataset(client, engineer, files={"a.txt": b"x"}).json()
    r = client.post(
        f"/api/v1/datasets/{broken['id']}/snapshots",
        json={"version_tag": "v1"},
        headers=engineer.headers,
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_ready"


def test_delete_removes_rows_and_every_object(client, engineer, dataset):
    url = f"/api/v1/datasets/{dataset['id']}"
    client.post(f"{url}/snapshots", json={"version_tag": "v1"}, headers=engineer.headers)
    assert list(_storage().list(f"datasets/{dataset['id']}/"))
    assert client.delete(url, headers=engineer.headers).status_code == 204
    assert list(_storage().list(f"datasets/{dataset['id']}/")) == []
    assert client.get(url, headers=engineer.headers).status_code == 404
    assert client.get(f"{url}/snapshots", headers=engineer.headers).status_code == 404


def test_direct_upload_in_two_parts_to_s3_then_snapshot_and_delete(s3_client, make_user):
    import io

    import httpx
    import numpy as np
    from PIL import Image

    client, storage = s3_client
    user = make_user("engineer_ii")
    rng = np.random.default_rng(0)
    files = {}
    for name in ("noise_a/1.png", "noise_b/2.png", "noise_a/3.png", "noise_b/4.png"):
        buf = io.BytesIO()  # noise does not compress: a real multi-part upload
        Image.fromarray(rng.integers(0, 255, (1100, 1100, 3), dtype=np.uint8)).save(buf, "PNG")
        files[name] = buf.getvalue()
    data = build.zip_bytes(files)
    assert len(data) > 8 * 2**20
    upload = client.post(
        "/api/v1/datasets/uploads",
        json={"name": "s3", "filename": "noise.zip", "size_bytes": len(data)},
        headers=user.headers,
    ).json()
    assert len(upload["parts"]) == 2
    size = upload["part_size"]
    etags = []
    for part in upload["parts"]:  # plain HTTP to S3, no credentials
        n = part["part_number"]
        r = httpx.put(part["url"], content=data[(n - 1) * size : n * size], timeout=60)
        assert r.status_code == 200, r.text
        etags.append({"part_number": n, "etag": r.headers["etag"]})
    r = client.post(
        f"/api/v1/datasets/uploads/{upload['dataset_id']}/complete",
        json={"parts": etags},
        headers=user.headers,
    )
    body = r.json()
    assert body["status"] == "ready", body
    assert body["stats"]["images_per_split"] == {"train": 3, "val": 1}
    prefix = f"datasets/{body['id']}/"
    assert storage.get_bytes(f"{prefix}original/noise.zip") == data
    url = f"/api/v1/datasets/{body['id']}"
    snap = client.post(f"{url}/snapshots", json={"version_tag": "s3"}, headers=user.headers).json()
    deep = client.post(
        f"{url}/snapshots/{snap['id']}/verify", params={"deep": True}, headers=user.headers
    )
    assert deep.json()["status"] == "valid"
    assert client.delete(url, headers=user.headers).status_code == 204
    assert list(storage.list(prefix)) == []
