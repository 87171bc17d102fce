"""The pretrained-weights registry: real safetensors and torch.save files go in, come back
byte for byte, are seen only by whom they should be, and anything that is not weights is
refused with nothing kept.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pytest

from api.services.storage import get_storage
from api.settings import get_settings

URL = "/api/v1/pretrained-weights"


# --- real weight files -----------------------------------------------------------------


@pytest.fixture(scope="module")
def safetensors_bytes(tmp_path_factory) -> bytes:  # type: ignore[no-untyped-def]
    from safetensors.numpy import save_file

    path = tmp_path_factory.mktemp("st") / "model.safetensors"
    tensors = {
        "fc.weight": np.arange(12, dtype=np.float32).reshape(3, 4),
        "fc.bias": np.zeros(3, dtype=np.float16),
    }
    save_file(tensors, str(path), metadata={"source": "test"})
    return path.read_bytes()


@pytest.fixture(scope="module")
def torch_bytes(tmp_path_factory) -> bytes:  # type: ignore[no-untyped-def]
    import torch

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("pt") / "linear.pt"
    torch.save(torch.nn.Linear(4, 3).state_dict(), path)
    return path.read_bytes()


def upload(client, account, filename: str, data: bytes, **fields):  # type: ignore[no-untyped-def]
    form = {
        "name": "w " + uuid.uuid4().hex[:6],
        "framework": "timm",
        "base_architecture": "resnet18",
    }
    form |= {k: str(v) for k, v in fields.items()}
    return client.post(
        URL,
        data=form,
        files={"file": (filename, data, "application/octet-stream")},
        headers=account.headers,
    )


def _stored_keys() -> set[str]:
    return {o.key for o in get_storage(get_settings()).list("weights/")}


def _count(client, account) -> int:  # type: ignore[no-untyped-def]
    return client.get(URL, params={"visibility": "private"}, headers=account.headers).json()[
        "total"
    ]


@pytest.fixture()
def engineer(make_user):  # type: ignore[no-untyped-def]
    return make_user("engineer_ii")


@pytest.fixture()
def manager(make_user):  # type: ignore[no-untyped-def]
    return make_user("manager")


# --- uploads that are kept -------------------------------------------------------------


def test_a_safetensors_file_is_registered_with_its_sha256_size_and_tensors(
    client, engineer, safetensors_bytes
):
    r = upload(client, engineer, "model.safetensors", safetensors_bytes, num_classes=3)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["checksum_sha256"] == hashlib.sha256(safetensors_bytes).hexdigest()
    assert body["size_bytes"] == len(safetensors_bytes)
    assert body["extra"] == {
        "format": "safetensors",
        "tensors": 2,
        "parameters": 15,
        "dtypes": ["F16", "F32"],
    }
    assert body["task_types"] == ["image_classification"]  # the catalog model's
    assert body["visibility"] == "private" and body["owner_id"] == engineer.id
    assert body["num_classes"] == 3 and body["download_count"] == 0
    key = f"weights/{body['id']}/model.safetensors"
    assert get_storage(get_settings()).get_bytes(key) == safetensors_bytes


def test_a_torch_save_file_is_registered(client, engineer, torch_bytes):
    r = upload(
        client,
        engineer,
        "yolo weights (v2).pt",
        torch_bytes,
        framework="ultralytics",
        base_architecture="yolo11n",
        pretraining_dataset="our-coco-subset",
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["checksum_sha256"] == hashlib.sha256(torch_bytes).hexdigest()
    assert body["size_bytes"] == len(torch_bytes)
    assert body["extra"]["format"] == "torch_zip" and body["extra"]["storages"] == 2
    assert body["task_types"] == ["object_detection"]
    assert body["pretraining_dataset"] == "our-coco-subset"
    assert _stored_keys() >= {f"weights/{body['id']}/yolo_weights__v2_.pt"}


def test_a_legacy_pickle_file_is_accepted(client, engineer, tmp_path):
    import torch

    path = tmp_path / "old.pth"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    r = upload(client, engineer, "old.pth", path.read_bytes())
    assert r.status_code == 201, r.text
    assert r.json()["extra"] == {"format": "torch_pickle"}


def test_download_serves_the_uploaded_bytes_and_counts(client, engineer, safetensors_bytes):
    weight = upload(client, engineer, "model.safetensors", safetensors_bytes).json()
    r = client.get(f"{URL}/{weight['id']}/download", headers=engineer.headers)
    assert r.status_code == 200, r.text
    link = r.json()
    assert link["checksum_sha256"] == weight["checksum_sha256"]
    assert link["expires_in"] == get_settings().signed_url_expire_seconds
    served = client.get(link["url"])  # signed: no login needed
    assert served.status_code == 200
    assert served.content == safetensors_bytes
    assert hashlib.sha256(served.content).hexdigest() == link["checksum_sha256"]
    again = client.get(f"{URL}/{weight['id']}", headers=engineer.headers).json()
    assert again["download_count"] == 1


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ('["image_classification"]', ["image_classification"]),
        ("image_classification, image_classification", ["image_classification"]),
    ],
)
def test_task_types_are_a_json_or_comma_list(client, engineer, safetensors_bytes, sent, kept):
    r = upload(client, engineer, "m.safetensors", safetensors_bytes, task_types=sent)
    assert r.status_code == 201, r.text
    assert r.json()["task_types"] == kept


# --- who sees and changes what ---------------------------------------------------------


def test_the_listing_shows_own_and_public_weights_not_another_users_private(
    client, make_user, manager, safetensors_bytes
):
    me, other = make_user("engineer_ii"), make_user("engineer_ii")
    mine = upload(client, me, "a.safetensors", safetensors_bytes).json()
    public = upload(client, manager, "b.safetensors", safetensors_bytes, visibility="public")
    assert public.status_code == 201, public.text
    theirs = upload(client, other, "c.safetensors", safetensors_bytes).json()
    listing = client.get(URL, params={"limit": 200}, headers=me.headers).json()
    ids = {w["id"] for w in listing["items"]}
    assert mine["id"] in ids and public.json()["id"] in ids
    assert theirs["id"] not in ids
    own = client.get(URL, params={"visibility": "private"}, headers=me.headers).json()
    assert [w["id"] for w in own["items"]] == [mine["id"]] and own["total"] == 1


def test_listing_filters_by_framework_architecture_and_task(
    client, engineer, safetensors_bytes, torch_bytes
):
    timm = upload(client, engineer, "t.safetensors", safetensors_bytes).json()
    yolo = upload(
        client, engineer, "y.pt", torch_bytes, framework="ultralytics", base_architecture="yolo11n"
    ).json()

    def ids(**params: str) -> list[str]:
        r = client.get(URL, params=params | {"visibility": "private"}, headers=engineer.headers)
        assert r.status_code == 200, r.text
        return [w["id"] for w in r.json()["items"]]

    assert ids(framework="ultralytics") == [yolo["id"]]
    assert ids(base_architecture="resnet18") == [timm["id"]]
    assert ids(task_type="object_detection") == [yolo["id"]]
    assert ids(task_type="pose_estimation") == []
    assert ids() == [yolo["id"], timm["id"]]  # newest first
    bad = client.get(URL, params={"visibility": "secret"}, headers=engineer.headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"


def test_another_users_private_weights_answer_404_everywhere(
    client, make_user, engineer, safetensors_bytes
):
    weight = upload(client, engineer, "m.safetensors", safetensors_bytes).json()
    intruder = make_user("engineer_ii")
    url = f"{URL}/{weight['id']}"
    missing = f"{URL}/{uuid.uuid4()}"
    for method, path, body in [
        ("GET", "", None),
        ("GET", "/download", None),
        ("PATCH", "", {"name": "mine now"}),
        ("DELETE", "", None),
    ]:
        r = client.request(method, url + path, json=body, headers=intruder.headers)
        assert r.status_code == 404, f"{method} {path}: {r.text}"
        absent = client.request(method, missing + path, json=body, headers=intruder.headers)
        assert r.json() == absent.json()
    owner_view = client.get(url, headers=engineer.headers).json()
    assert owner_view["name"] == weight["name"] and owner_view["download_count"] == 0


def test_public_weights_are_readable_by_all_and_changed_only_by_their_owner(
    client, make_user, manager, safetensors_bytes
):
    weight = upload(client, manager, "m.safetensors", safetensors_bytes, visibility="public")
    url = f"{URL}/{weight.json()['id']}"
    reader = make_user("guest")
    assert client.get(url, headers=reader.headers).status_code == 200
    link = client.get(f"{url}/download", headers=reader.headers)
    assert link.status_code == 200
    assert client.get(link.json()["url"]).content == safetensors_bytes
    for method, body in [("PATCH", {"name": "taken"}), ("DELETE", None)]:
        r = client.request(method, url, json=body, headers=reader.headers)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden"
    assert client.get(url, headers=manager.headers).json()["name"] == weight.json()["name"]
    assert client.patch(url, json={"name": "renamed"}, headers=manager.headers).status_code == 200


@pytest.mark.parametrize("role", ["guest", "engineer_ii"])
def test_below_manager_nobody_publishes(client, make_user, safetensors_bytes, role):
    user = make_user(role)
    keys = _stored_keys()
    r = upload(client, user, "m.safetensors", safetensors_bytes, visibility="public")
    assert r.status_code == 403 and r.json()["error"]["code"] == "publish_forbidden"
    assert _stored_keys() == keys and _count(client, user) == 0
    private = upload(client, user, "m.safetensors", safetensors_bytes).json()
    url = f"{URL}/{private['id']}"
    r = client.patch(url, json={"visibility": "public"}, headers=user.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "publish_forbidden"
    assert client.get(url, headers=user.headers).json()["visibility"] == "private"


def test_a_manager_publishes_and_unpublishes(client, manager, safetensors_bytes):
    weight = upload(client, manager, "m.safetensors", safetensors_bytes).json()
    url = f"{URL}/{weight['id']}"
    r = client.patch(
        url, json={"visibility": "public", "description": "ok"}, headers=manager.headers
    )
    assert r.status_code == 200 and r.json()["visibility"] == "public"
    assert r.json()["description"] == "ok"
    r = client.patch(url, json={"visibility": "private"}, headers=manager.headers)
    assert r.json()["visibility"] == "private"


def test_delete_removes_the_row_and_the_file(client, engineer, safetensors_bytes):
    weight = upload(client, engineer, "m.safetensors", safetensors_bytes).json()
    prefix = f"weights/{weight['id']}/"
    assert list(get_storage(get_settings()).list(prefix))
    r = client.delete(f"{URL}/{weight['id']}", headers=engineer.headers)
    assert r.status_code == 204
    assert list(get_storage(get_settings()).list(prefix)) == []
    assert client.get(f"{URL}/{weight['id']}", headers=engineer.headers).status_code == 404


def test_an_admin_may_delete_anyones_weights(client, admin, engineer, safetensors_bytes):
    weight = upload(client, engineer, "m.safetensors", safetensors_bytes).json()
    assert client.delete(f"{URL}/{weight['id']}", headers=admin.headers).status_code == 204


def test_readable_and_available_for_the_rest_of_the_api(
    client, make_user, manager, safetensors_bytes, torch_bytes
):
    from api.db.models import User
    from api.db.session import new_session
    from api.errors import NotFound
    from api.services import weights

    me, other = make_user("engineer_ii"), make_user("engineer_ii")
    mine = upload(client, me, "m.safetensors", safetensors_bytes).json()
    upload(client, manager, "p.pt", torch_bytes, visibility="public",
           framework="ultralytics", base_architecture="yolo11n-cls")  # fmt: skip
    theirs = upload(
        client, other, "x.pt", torch_bytes, framework="transformers", base_architecture="vit-base"
    ).json()
    with new_session() as db:
        user = db.get(User, uuid.UUID(me.id))
        assert user is not None
        assert str(weights.readable(db, user, uuid.UUID(mine["id"])).id) == mine["id"]
        with pytest.raises(NotFound):
            weights.readable(db, user, uuid.UUID(theirs["id"]))
        pairs = weights.available(db, user)
    assert {("timm", "resnet18"), ("ultralytics", "yolo11n-cls")} <= pairs
    assert ("transformers", "vit-base") not in pairs


# --- refusals: a 4xx in the common shape, and nothing kept ------------------------------


def _refused(client, account, status: int, code: str, filename: str, data: bytes, **fields):  # type: ignore[no-untyped-def]
    keys, count = _stored_keys(), _count(client, account)
    r = upload(client, account, filename, data, **fields)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["message"]
    assert _stored_keys() == keys
    assert _count(client, account) == count
    return error


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _safetensors(header: dict, data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + data


BAD_FILES = {
    "a text file named .pt": ("notes.pt", b"these are not weights\n"),
    "a text file named .safetensors": ("m.safetensors", b"these are not weights at all\n"),
    "an empty file": ("empty.pt", b""),
    "a zip without data.pkl": ("m.pt", _zip({"archive/readme.txt": b"hi"})),
    "a broken zip": ("m.pt", b"PK\x03\x04" + b"\0" * 100),
    "a header longer than the file": (
        "m.safetensors",
        (10_000).to_bytes(8, "little") + b'{"a": 1}',
    ),
    "tensors beyond the data": (
        "m.safetensors",
        _safetensors({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8),
    ),
    "offsets that disagree with the shape": (
        "m.safetensors",
        _safetensors({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),
    ),
    "an unknown dtype": (
        "m.safetensors",
        _safetensors({"w": {"dtype": "F31", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8),
    ),
    "a header that is not an object": ("m.safetensors", _safetensors([1, 2], b"")),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bytes_that_are_not_weights_are_refused(client, engineer, case):
    filename, data = BAD_FILES[case]
    _refused(client, engineer, 422, "invalid_weights", filename, data)


def test_a_truncated_safetensors_file_is_refused(client, engineer, safetensors_bytes):
    _refused(client, engineer, 422, "invalid_weights", "m.safetensors", safetensors_bytes[:-5])
    _refused(client, engineer, 422, "invalid_weights", "m.safetensors", safetensors_bytes[:40])


@pytest.mark.parametrize("filename", ["model.onnx", "model.txt", "model", "safetensors"])
def test_a_wrong_extension_is_refused(client, engineer, safetensors_bytes, filename):
    error = _refused(client, engineer, 422, "invalid_weights", filename, safetensors_bytes)
    assert ".safetensors" in error["message"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"framework": "keras"}, "framework"),
        ({"base_architecture": "resnet9000"}, "base_architecture"),
        ({"base_architecture": "yolo11n"}, "base_architecture"),  # an ultralytics model
        ({"task_types": "object_detection"}, "task_types"),  # resnet18 classifies
        ({"task_types": "[]"}, "task_types"),
        ({"task_types": "[not json"}, "task_types"),
        ({"task_types": "painting"}, "task_types"),
        ({"visibility": "secret"}, "visibility"),
        ({"num_classes": "many"}, "num_classes"),
        ({"num_classes": "0"}, "num_classes"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_fields_are_refused_naming_the_field(
    client, engineer, safetensors_bytes, fields, field
):
    error = _refused(
        client, engineer, 422, "validation_error", "m.safetensors", safetensors_bytes, **fields
    )
    assert error["message"].startswith(f"{field}"), error
    assert field in error["details"][0]["loc"]


def test_a_file_above_the_limit_is_refused(client, engineer, safetensors_bytes, monkeypatch):
    from api.services import weights

    monkeypatch.setattr(weights, "MAX_BYTES", len(safetensors_bytes) - 1)
    _refused(client, engineer, 413, "upload_too_large", "m.safetensors", safetensors_bytes)


def test_an_upload_without_a_file_is_refused(client, engineer):
    r = client.post(
        URL,
        data={"name": "n", "framework": "timm", "base_architecture": "resnet18"},
        headers=engineer.headers,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


# --- on S3 -----------------------------------------------------------------------------


def test_on_s3_weights_are_stored_downloaded_and_deleted(s3_client, make_user, torch_bytes):
    import httpx

    client, storage = s3_client
    user = make_user("engineer_ii")
    r = upload(client, user, "linear.pt", torch_bytes)
    assert r.status_code == 201, r.text
    weight = r.json()
    prefix = f"weights/{weight['id']}/"
    assert [o.key for o in storage.list(prefix)] == [f"{prefix}linear.pt"]
    link = client.get(f"{URL}/{weight['id']}/download", headers=user.headers).json()
    served = httpx.get(link["url"], timeout=30)  # plain HTTP to S3, no credentials
    assert served.status_code == 200 and served.content == torch_bytes
    assert hashlib.sha256(served.content).hexdigest() == weight["checksum_sha256"]
    before = list(storage.list("weights/"))
    bad = upload(client, user, "bad.pt", b"not weights")
    assert bad.status_code == 422 and list(storage.list("weights/")) == before
    assert client.delete(f"{URL}/{weight['id']}", headers=user.headers).status_code == 204
    assert list(storage.list(prefix)) == []


def test_storage_paths_stay_inside_the_weights_folder(client, engineer, safetensors_bytes):
    r = upload(client, engineer, "../../etc/passwd.safetensors", safetensors_bytes)
    assert r.status_code == 201, r.text
    assert _stored_keys() >= {f"weights/{r.json()['id']}/passwd.safetensors"}
    assert not (Path(get_settings().storage_local_root).parent / "etc").exists()
