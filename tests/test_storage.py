"""The storage interface, behaving the same on both backends: the local folder (its
signed URLs served by the API) and S3 (a real SeaweedFS server on loopback).
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import uuid
from pathlib import Path

import httpx
import pytest

from api.services.storage import InvalidKey, ObjectNotFound, Storage, StorageError, get_storage
from api.settings import Settings, get_settings
from tests.conftest import s3_settings

MiB = 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def storage(request, client) -> Storage:  # type: ignore[no-untyped-def]
    if request.param == "local":
        return get_storage(get_settings())
    server = request.getfixturevalue("s3_server")
    return get_storage(s3_settings(server, s3_multipart_threshold_mb=5))


@pytest.fixture()
def fetch(client):  # type: ignore[no-untyped-def]
    """Use a presigned URL as a worker would: plain HTTP, no credentials."""

    def do(method: str, url: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
        if url.startswith("http://testserver/"):  # the local backend: served by the API
            return client.request(method, url, **kwargs)
        return httpx.request(method, url, timeout=30, **kwargs)

    return do


def _prefix() -> str:
    return f"t/{uuid.uuid4().hex[:8]}/"


def test_round_trip_of_bytes_files_and_streams(storage: Storage, tmp_path: Path) -> None:
    p = _prefix()
    storage.put_bytes(p + "a.txt", b"alpha")
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3000))
    storage.put_file(p + "dir/b.bin", src)
    storage.put_file(p + "dir/c.bin", io.BytesIO(b"stream"))

    assert storage.get_bytes(p + "a.txt") == b"alpha"
    assert storage.exists(p + "dir/b.bin") and not storage.exists(p + "nope")
    assert storage.stat(p + "dir/b.bin").size == 3000
    with storage.open_read(p + "dir/c.bin") as f:
        assert f.read() == b"stream"
    dest = tmp_path / "deep" / "copy.bin"
    storage.download_file(p + "dir/b.bin", dest)
    assert dest.read_bytes() == src.read_bytes()

    storage.put_bytes(p + "a.txt", b"replaced")
    assert storage.get_bytes(p + "a.txt") == b"replaced"
    assert [(o.key, o.size) for o in storage.list(p)] == [
        (p + "a.txt", 8),
        (p + "dir/b.bin", 3000),
        (p + "dir/c.bin", 6),
    ]


def test_many_files_stored_at_once_are_all_there_whole(storage: Storage, tmp_path: Path) -> None:
    """put_files (a dataset's images and thumbnails): every file, whole, when it returns;
    the first failure is raised."""
    p = _prefix()
    files = {}
    for n in range(40):
        src = tmp_path / f"{n}.bin"
        src.write_bytes(os.urandom(100 + 997 * n))
        files[f"{p}f/{n}.bin"] = src
    storage.put_files((key, src, "application/octet-stream") for key, src in files.items())
    assert {o.key: o.size for o in storage.list(p)} == {
        k: f.stat().st_size for k, f in files.items()
    }
    assert all(storage.get_bytes(k) == f.read_bytes() for k, f in files.items())
    with pytest.raises(InvalidKey):
        storage.put_files(
            [(f"{p}ok.bin", files[f"{p}f/0.bin"], None), ("../out", files[f"{p}f/1.bin"], None)]
        )


def test_copy_inside_the_store_leaves_both_objects(storage: Storage) -> None:
    storage.put_bytes("checkpoints/j/last.ckpt", b"epoch 3 weights")
    storage.put_bytes("checkpoints/j/best.ckpt", b"epoch 1 weights")
    storage.copy("checkpoints/j/last.ckpt", "checkpoints/j/best.ckpt")
    assert storage.get_bytes("checkpoints/j/best.ckpt") == b"epoch 3 weights"
    assert storage.get_bytes("checkpoints/j/last.ckpt") == b"epoch 3 weights"
    with pytest.raises(ObjectNotFound):
        storage.copy("checkpoints/j/missing", "checkpoints/j/other")
    assert not storage.exists("checkpoints/j/other")


def test_prefix_listing_and_deletion(storage: Storage) -> None:
    p = _prefix()
    for key in ("datasets/1/x", "datasets/10/y", "datasets/2/z"):
        storage.put_bytes(p + key, b".")
    # Prefixes match as strings, as on S3.
    assert [o.key for o in storage.list(p + "datasets/1")] == [
        p + "datasets/1/x",
        p + "datasets/10/y",
    ]
    assert [o.key for o in storage.list(p + "datasets/1/")] == [p + "datasets/1/x"]
    assert storage.delete_prefix(p + "datasets/1/") == 1
    assert storage.delete_prefix(p) == 2
    assert list(storage.list(p)) == []
    storage.delete(p + "never-existed")  # not an error


def test_missing_objects_raise_object_not_found(storage: Storage, tmp_path: Path) -> None:
    key = _prefix() + "missing"
    for call in (
        lambda: storage.get_bytes(key),
        lambda: storage.stat(key),
        lambda: storage.open_read(key),
        lambda: storage.download_file(key, tmp_path / "out"),
    ):
        with pytest.raises(ObjectNotFound):
            call()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("key", ["../escape", "/abs/key", "a//b", "a/./b", "a\\b", "a/\x00b", ""])
def test_unsafe_keys_are_refused_before_touching_storage(storage: Storage, key: str) -> None:
    with pytest.raises(InvalidKey):
        storage.put_bytes(key, b"x")
    with pytest.raises(InvalidKey):
        storage.presign_get(key)


def test_wiping_everything_takes_more_than_an_empty_prefix(storage: Storage) -> None:
    with pytest.raises(InvalidKey):
        storage.delete_prefix("")


def test_large_file_goes_up_in_parts_and_comes_back_identical(
    storage: Storage, tmp_path: Path
) -> None:
    # Over the 5 MiB threshold set for S3 here: boto3 uploads it as a multipart upload.
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(11 * MiB + 123))
    key = _prefix() + "big.bin"
    storage.put_file(key, src)
    dest = tmp_path / "big.out"
    storage.download_file(key, dest)
    assert hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(src.read_bytes()).digest()


def test_presigned_get_and_put_need_no_credentials(storage: Storage, fetch) -> None:  # type: ignore[no-untyped-def]
    p = _prefix()
    put_url = storage.presign_put(p + "up.bin", expires_in=60)
    r = fetch("PUT", put_url, content=b"uploaded by a worker")
    assert r.status_code == 200, r.text
    assert storage.get_bytes(p + "up.bin") == b"uploaded by a worker"

    r = fetch("GET", storage.presign_get(p + "up.bin", expires_in=60))
    assert r.status_code == 200 and r.content == b"uploaded by a worker"

    r = fetch("GET", storage.presign_get(p + "up.bin", expires_in=60, filename="model v1.onnx"))
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment;")
    assert "model%20v1.onnx" in r.headers["content-disposition"]


def test_presigned_get_of_a_missing_object_is_404(storage: Storage, fetch) -> None:  # type: ignore[no-untyped-def]
    assert fetch("GET", storage.presign_get(_prefix() + "absent")).status_code == 404


def test_tampered_url_is_refused(storage: Storage, fetch) -> None:  # type: ignore[no-untyped-def]
    p = _prefix()
    storage.put_bytes(p + "a.txt", b"secret a")
    storage.put_bytes(p + "b.txt", b"secret b")
    url = storage.presign_get(p + "a.txt", expires_in=60)
    # The signature covers the key: it cannot be pointed at another object.
    assert fetch("GET", url.replace("a.txt", "b.txt")).status_code == 403
    # Nor can a GET URL be used to write.
    assert fetch("PUT", url, content=b"overwrite").status_code in (403, 405)
    assert storage.get_bytes(p + "a.txt") == b"secret a"


def test_expired_url_is_refused(storage: Storage, fetch) -> None:  # type: ignore[no-untyped-def]
    key = _prefix() + "a.txt"
    storage.put_bytes(key, b"x")
    url = storage.presign_get(key, expires_in=1)
    time.sleep(2.2)
    assert fetch("GET", url).status_code == 403


def test_multipart_upload_through_presigned_part_urls(storage: Storage, fetch) -> None:  # type: ignore[no-untyped-def]
    key = _prefix() + "archive.zip"
    part1, part2 = os.urandom(5 * MiB), os.urandom(1000)  # S3 wants 5 MiB for all but the last
    upload_id = storage.create_multipart_upload(key)
    etags = {}
    # Out of order on purpose: a client uploads parts in parallel.
    for number, body in ((2, part2), (1, part1)):
        r = fetch(
            "PUT", storage.presign_upload_part(key, upload_id, number, expires_in=60), content=body
        )
        assert r.status_code == 200, r.text
        etags[number] = r.headers["etag"]
    assert not storage.exists(key)  # nothing visible before completion
    storage.complete_multipart_upload(
        key, upload_id, [{"part_number": n, "etag": e} for n, e in etags.items()]
    )
    assert storage.get_bytes(key) == part1 + part2


def test_multipart_with_a_wrong_etag_fails_and_abort_leaves_nothing(
    storage: Storage, fetch
) -> None:  # type: ignore[no-untyped-def]
    key = _prefix() + "broken.zip"
    upload_id = storage.create_multipart_upload(key)
    r = fetch(
        "PUT", storage.presign_upload_part(key, upload_id, 1, expires_in=60), content=b"x" * 100
    )
    assert r.status_code == 200, r.text
    with pytest.raises(StorageError):
        storage.complete_multipart_upload(key, upload_id, [{"part_number": 1, "etag": "0" * 32}])
    with pytest.raises(StorageError):
        storage.complete_multipart_upload(key, upload_id, [{"part_number": 1}])
    storage.abort_multipart_upload(key, upload_id)
    storage.abort_multipart_upload(key, upload_id)  # twice is fine
    assert not storage.exists(key)
    assert list(storage.list(key)) == []


def test_check_passes_on_a_working_backend(storage: Storage) -> None:
    storage.check()


def test_s3_unreachable_or_refusing_fails_check_without_leaking_secrets(s3_server) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    down = get_storage(s3_settings(s3_server, s3_endpoint_url=f"http://127.0.0.1:{closed_port}"))
    with pytest.raises(StorageError, match="127.0.0.1"):
        down.check()

    wrong = get_storage(s3_settings(s3_server, s3_secret_access_key="not-the-secret-123"))
    with pytest.raises(StorageError) as info:
        wrong.check()
    assert "not-the-secret-123" not in str(info.value)
    assert s3_server.secret_access_key not in str(info.value)


def test_local_backend_on_an_unusable_folder_fails_check(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    broken = get_storage(Settings(storage_backend="local", storage_local_root=str(blocker / "sub")))
    with pytest.raises(StorageError):
        broken.check()


def test_local_upload_route_enforces_the_signed_content_type(client) -> None:  # type: ignore[no-untyped-def]
    storage = get_storage(get_settings())
    key = _prefix() + "img.png"
    url = storage.presign_put(key, expires_in=60, content_type="image/png")
    r = client.put(url, content=b"fake", headers={"Content-Type": "text/html"})
    assert r.status_code == 403
    assert r.json()["error"]["code"]  # the common error shape
    assert not storage.exists(key)
    r = client.put(url, content=b"png bytes", headers={"Content-Type": "image/png"})
    assert r.status_code == 200 and storage.get_bytes(key) == b"png bytes"


def test_local_routes_refuse_unsigned_requests_and_bad_keys(client) -> None:  # type: ignore[no-untyped-def]
    storage = get_storage(get_settings())
    key = _prefix() + "x.txt"
    storage.put_bytes(key, b"private")
    r = client.get(f"/api/v1/storage/files/{key}")
    assert r.status_code == 403 and b"private" not in r.content
    r = client.put(f"/api/v1/storage/files/{key}", content=b"overwrite")
    assert r.status_code == 403
    assert storage.get_bytes(key) == b"private"
    r = client.get("/api/v1/storage/files/a/%2E%2E/%2E%2E/etc/passwd?exp=9999999999&sig=x")
    assert r.status_code in (400, 403, 404)
    assert b"root:" not in r.content
