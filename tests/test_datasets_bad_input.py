"""Bad uploads: a clear 4xx with nothing kept, or an `error` dataset naming each
problem (file, line or object, reason) and nothing left in storage.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest

from api.services.datasets import archive
from api.services.storage import get_storage
from api.settings import get_settings
from tests import dataset_builders as build
from tests.conftest import upload_dataset


@pytest.fixture()
def engineer(make_user):  # type: ignore[no-untyped-def]
    return make_user("engineer_ii")


def _stored_keys() -> set[str]:
    return {o.key for o in get_storage(get_settings()).list("datasets/")}


def _count(client, account) -> int:  # type: ignore[no-untyped-def]
    return client.get("/api/v1/datasets", headers=account.headers).json()["total"]


def _refused(client, account, expected_status: int, expected_code: str, **upload) -> dict:  # type: ignore[no-untyped-def]
    """Upload, expect a refusal, and check that no row and no object was left."""
    keys, count = _stored_keys(), _count(client, account)
    r = upload_dataset(client, account, **upload)
    assert r.status_code == expected_status, r.text
    assert r.json()["error"]["code"] == expected_code
    assert _stored_keys() == keys
    assert _count(client, account) == count
    return r.json()["error"]


def _errored(client, account, **upload) -> dict:  # type: ignore[no-untyped-def]
    """Upload, expect an `error` dataset, and check it left nothing in storage."""
    keys = _stored_keys()
    r = upload_dataset(client, account, **upload)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "error", body
    assert _stored_keys() == keys
    assert body["validation_errors"]["count"] >= 1
    return body["validation_errors"]


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            zf.writestr(zipfile.ZipInfo(name), data)
    return buf.getvalue()


GOOD = build.imagefolder_files(classes=(0, 1), train=2, val=1)


# Where each entry would land if the check were broken: inside the test's own folder,
# never anywhere a real system reads (the API unpacks in <tmp_path>/work/vap-dataset-*/
# unpacked/, see the test).
ESCAPES = {
    "absolute": "{tmp}/escaped/absolute.png",
    "up three": "../../../up_three.png",
    "down then up": "train/../../../../down_then_up.png",
    "windows drive": "C:/windows/x.png",  # on Linux it would stay inside the folder
}


@pytest.mark.parametrize("mode", ["archive", "files"])
@pytest.mark.parametrize("evil", ESCAPES.values(), ids=ESCAPES.keys())
def test_entries_that_leave_their_folder_are_refused(
    client, engineer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, evil: str, mode: str
):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))  # where the API unpacks uploads
    evil = evil.format(tmp=tmp_path)
    files = [*GOOD.items(), (evil, build.digits_png(0))]
    upload = {"archive": ("evil.zip", _zip(files))} if mode == "archive" else {"files": dict(files)}
    err = _refused(client, engineer, 400, "unsafe_archive", **upload)
    assert evil.split("/")[-1] in err["message"]
    # Nothing was written anywhere: not where the entry points, not in the work folder.
    assert [p.name for p in tmp_path.iterdir()] == ["work"]
    assert list(work.iterdir()) == []
    assert not (tmp_path / evil.split("/")[-1]).exists()


def test_links_in_archives_are_refused(client, engineer):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in GOOD.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("train/digit_0/passwd.png")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(link)
    _refused(client, engineer, 400, "unsafe_archive", archive=("links.tar.gz", buf.getvalue()))

    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        info = zipfile.ZipInfo("train/digit_0/link.png")
        info.external_attr = 0o120777 << 16  # a symlink, as zip -y stores it
        zf.writestr(info, "/etc/passwd")
    _refused(client, engineer, 400, "unsafe_archive", archive=("links.zip", zbuf.getvalue()))


def test_a_decompression_bomb_is_refused(client, engineer):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("train/digit_0/big.png", b"\0" * (100 * 2**20))  # 100 MiB of zeros
    assert len(buf.getvalue()) < 2**20
    err = _refused(client, engineer, 413, "archive_too_large", archive=("bomb.zip", buf.getvalue()))
    assert "decompression bomb" in err["message"]


def test_archive_limits_on_entries_and_total_size(tmp_path: Path):
    data = _zip([(f"c/{i}.png", b"x" * 1000) for i in range(20)])
    src = tmp_path / "a.zip"
    src.write_bytes(data)
    with pytest.raises(archive.ArchiveTooLarge, match="more than 10 files"):
        archive.extract(src, "a.zip", tmp_path / "o1", archive.Limits(10**9, 10, 1000))
    with pytest.raises(archive.ArchiveTooLarge, match="unpacks to more than"):
        archive.extract(src, "a.zip", tmp_path / "o2", archive.Limits(5000, 100, 1000))
    assert not any((tmp_path / "o2").iterdir())  # emptied again
    assert (
        len(archive.extract(src, "a.zip", tmp_path / "o3", archive.Limits(10**9, 100, 1000))) == 20
    )


def test_not_an_archive_and_unsupported_names_are_refused(client, engineer):
    _refused(client, engineer, 400, "bad_archive", archive=("broken.zip", b"PK\x03\x04 not really"))
    _refused(client, engineer, 400, "bad_archive", archive=("broken.tar.gz", b"\x1f\x8b garbage"))


def test_a_truncated_image_is_named_with_why(client, engineer):
    files = dict(GOOD)
    photo = build.real_photos()[0].read_bytes()
    files["train/digit_0/cut.jpg"] = build.truncated(photo)
    errors = _errored(client, engineer, files=files)
    assert errors["errors"] == [
        {"file": "train/digit_0/cut.jpg", "reason": errors["errors"][0]["reason"]}
    ]
    assert "truncated" in errors["errors"][0]["reason"]


def test_non_image_files_in_an_imagefolder_are_problems(client, engineer):
    files = dict(GOOD) | {
        "train/digit_1/notes.txt": b"hello",
        "train/digit_1/fake.png": b"not a png",
    }
    errors = _errored(client, engineer, files=files)
    by_file = {e["file"]: e["reason"] for e in errors["errors"]}
    assert "not an image" in by_file["train/digit_1/notes.txt"]
    # (Ultralytics, imported by other tests, patches Image.open: either wording is fine.)
    assert by_file["train/digit_1/fake.png"].startswith(("not an image Pillow", "corrupt"))
    assert errors["by_code"] == {"non_image_file": 1, "bad_image": 1}


def test_yolo_labels_out_of_range_or_outside_the_image(client, engineer, tmp_path: Path):
    build.coco_dataset(tmp_path / "coco")
    yolo = build.yolo_from_coco(tmp_path / "coco", tmp_path / "yolo")
    label = next((yolo / "labels" / "train").glob("*.txt"))
    rows = label.read_text().splitlines()
    rows += ["7 0.5 0.5 0.1 0.1", "0 0.9 0.9 0.5 0.5", "0 abc 0.5 0.1 0.1"]
    label.write_text("\n".join(rows) + "\n")
    (yolo / "labels" / "train" / "ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    errors = _errored(
        client, engineer, archive=("y.zip", build.zip_bytes(build.folder_files(yolo)))
    )
    rel = f"labels/train/{label.name}"
    n = len(rows)
    got = {(e["file"], e.get("where")): e["reason"] for e in errors["errors"]}
    assert "class id 7 is not among the 3 classes" in got[(rel, f"line {n - 2}")]
    assert "outside the" in got[(rel, f"line {n - 1}")]
    assert "not numbers" in got[(rel, f"line {n}")]
    assert "not in the dataset" in got[("labels/train/ghost.txt", None)]


def test_coco_annotations_pointing_at_missing_images(client, engineer, tmp_path: Path):
    docs = build.coco_dataset(tmp_path / "coco")
    missing = docs["val"]["images"][0]["file_name"]
    (tmp_path / "coco" / "images" / "val" / missing).unlink()
    errors = _errored(
        client, engineer, archive=("c.zip", build.zip_bytes(build.folder_files(tmp_path / "coco")))
    )
    assert errors["errors"][0]["file"] == "annotations/instances_val.json"
    assert missing in errors["errors"][0]["reason"]
    assert errors["by_code"] == {"missing_image": 1}


def test_coco_boxes_outside_their_image(client, engineer, tmp_path: Path):
    docs = build.coco_dataset(tmp_path / "coco")
    doc = docs["train"]
    doc["annotations"][0]["bbox"] = [5000, 10, 50, 50]
    (tmp_path / "coco" / "annotations" / "instances_train.json").write_text(json.dumps(doc))
    errors = _errored(
        client, engineer, archive=("c.zip", build.zip_bytes(build.folder_files(tmp_path / "coco")))
    )
    assert errors["errors"][0]["where"] == f"annotation id {doc['annotations'][0]['id']}"
    assert "outside" in errors["errors"][0]["reason"]


def test_an_empty_upload_and_a_format_mismatch(client, engineer):
    assert _errored(client, engineer, archive=("empty.zip", _zip([])))["by_code"] == {
        "empty_dataset": 1
    }
    errors = _errored(client, engineer, files=GOOD, format="coco")
    assert errors["by_code"] == {"format_mismatch": 1}
    assert "it looks like imagefolder" in errors["errors"][0]["reason"]


def test_problems_are_capped_but_counted(client, engineer):
    files = dict(GOOD) | {f"train/digit_0/junk{i}.txt": b"x" for i in range(250)}
    errors = _errored(client, engineer, files=files)
    assert errors["count"] == 250 and errors["listed"] == 200 and len(errors["errors"]) == 200


def test_bad_form_fields_are_422_in_the_common_shape(client, engineer):
    keys = _stored_keys()
    r = upload_dataset(
        client, engineer, files=GOOD, split={"strategy": "ratio", "train": 0.9, "val": 0.5}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = upload_dataset(client, engineer, files=GOOD, visibility="everyone")
    assert r.status_code == 422
    r = upload_dataset(client, engineer, files=GOOD, format="parquet")
    assert r.status_code == 422
    assert _stored_keys() == keys


def test_guests_get_one_dataset(client, make_user):
    guest = make_user()  # the default role: guest
    assert upload_dataset(client, guest, files=GOOD).json()["status"] == "ready"
    _refused(client, guest, 403, "quota_exceeded", files=GOOD)
    r = client.post(
        "/api/v1/datasets/uploads",
        json={"name": "more", "filename": "d.zip", "size_bytes": 100},
        headers=guest.headers,
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "quota_exceeded"
