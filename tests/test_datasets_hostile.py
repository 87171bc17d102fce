"""Hostile dataset content: a small upload never makes a large answer or a 500.

Documents that expand out of proportion to their size (YAML aliases, XML entities),
values quoted into problems, malformed fields, deep nesting, strings that are not
Unicode, paths that collide or that no filesystem can hold, archive headers that ask
for unbounded memory: each is a 4xx with nothing kept, or an `error` dataset that names
the file, keeps nothing in storage or in temp folders, and stays small.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from api.db.session import get_engine
from api.services.datasets.problems import MAX_LISTED_BYTES, MAX_REASON
from api.settings import get_settings
from tests import dataset_builders as build
from tests.conftest import upload_dataset

KB = 1024


@pytest.fixture()
def engineer(make_user):  # type: ignore[no-untyped-def]
    return make_user("engineer_ii")


@pytest.fixture()
def work_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The folder the API unpacks uploads in, for this test only: left empty after each."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    assert list(folder.iterdir()) == []


def _on_disk() -> set[str]:
    """Every file under the storage folder, temp files included."""
    root = get_settings().storage_local_root
    assert root is not None
    return {str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file()}


def _rows() -> list[tuple[str, str]]:
    with get_engine().connect() as conn:
        return [(str(i), s) for i, s in conn.execute(text("SELECT id, status FROM datasets"))]


def _upload(client, account, work_tmp: Path, **upload):  # type: ignore[no-untyped-def]
    """Upload; expect a 4xx with no row kept, or an `error` dataset (its one row). Either
    way nothing in storage and nothing in the temp folder. The response."""
    files, rows = _on_disk(), _rows()
    r = upload_dataset(client, account, **upload)
    assert r.status_code < 500, r.text[:2000]
    assert _on_disk() == files
    assert list(work_tmp.iterdir()) == []
    new_rows = [row for row in _rows() if row not in rows]
    if r.status_code == 201:
        assert r.json()["status"] == "error", r.text[:2000]
        assert new_rows == [(r.json()["id"], "error")]
    else:
        assert 400 <= r.status_code < 500
        assert new_rows == []
    return r


def _stored_body(client, account, response) -> bytes:  # type: ignore[no-untyped-def]
    """What every later GET of the dataset answers."""
    got = client.get(f"/api/v1/datasets/{response.json()['id']}", headers=account.headers)
    assert got.status_code == 200
    return got.content


def _tiny_zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _yolo(data_yaml: str, label: str = "0 0.5 0.5 0.5 0.5\n") -> dict[str, bytes]:
    return {
        "data.yaml": data_yaml.encode(),
        "images/train/a.png": build.digits_png(0),
        "labels/train/a.txt": label.encode(),
    }


def _as(mode: str, files: dict[str, bytes]) -> dict:
    """Upload keyword arguments: the files as a zip, or loose."""
    return {"archive": ("d.zip", _tiny_zip(files))} if mode == "zip" else {"files": files}


def _billion_laughs(levels: int = 6, fan_out: int = 9) -> str:
    lines = ["a0: &a0 [lolololololololololololololololololol]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * fan_out) + "]")
    lines += ["names: [cat]", f"train: *a{levels}", f"val: *a{levels}"]
    return "\n".join(lines) + "\n"


# --- item 3: small input, huge output ----------------------------------------------------


def test_a_yaml_alias_bomb_in_a_tiny_zip_is_a_small_validation_error(client, engineer, work_tmp):
    data = _tiny_zip(_yolo(_billion_laughs()))
    assert len(data) < 1 * KB
    r = _upload(client, engineer, work_tmp, archive=("laughs.zip", data))
    body = _stored_body(client, engineer, r)
    assert len(body) < 4 * KB
    errors = json.loads(body)["validation_errors"]
    assert errors["errors"][0]["file"] == "data.yaml"
    assert "expands" in errors["errors"][0]["reason"]
    listed = client.get("/api/v1/datasets", headers=engineer.headers)
    assert len(listed.content) < 8 * KB


LONG_STRING = "x" * 2000
OUT_OF_PROPORTION = {
    # Merge keys copy a mapping into another: nine levels of them double each time.
    "merge keys": "m0: &m0 {a: 1, b: 2}\n"
    + "".join(
        f"m{i}: &m{i} {{<<: [*m{i - 1}], c{i}: *m{i - 1}, d{i}: *m{i - 1}}}\n" for i in range(1, 12)
    )
    + "names: [cat]\ntrain: [*m11]\n",
    # One long string named three hundred times: class names of 600 KB from 2 KB.
    "repeated string": f"s: &s {LONG_STRING}\nnames: [" + ", ".join(["*s"] * 300) + "]\n",
    # Deeper than any data.yaml: Python's own recursion limit used to answer.
    "deep nesting": "names: [cat]\ntrain: " + "[" * 5000 + "]" * 5000 + "\n",
}


@pytest.mark.parametrize("doc", OUT_OF_PROPORTION.values(), ids=OUT_OF_PROPORTION.keys())
@pytest.mark.parametrize("mode", ["zip", "files"])
def test_yaml_documents_out_of_proportion_to_their_size_are_refused(
    client, engineer, work_tmp, doc, mode
):
    r = _upload(client, engineer, work_tmp, **_as(mode, _yolo(doc)))
    body = _stored_body(client, engineer, r)
    assert len(body) < 4 * KB
    first = json.loads(body)["validation_errors"]["errors"][0]
    assert first["file"] == "data.yaml" and first["reason"].startswith("not valid YAML")


def test_user_values_are_quoted_briefly_in_problems(client, engineer, work_tmp):
    """Values from the upload reach a problem's text cut short: the stored list of 200
    stays small whatever the upload holds."""
    long_name = "n" * 50_000
    big = {"nested": [[list(range(50))] * 50] * 4}
    doc = {
        "images": [{"id": i, "file_name": f"{long_name}{i}.png"} for i in range(150)]
        + [{"id": big, "file_name": "x.png"}, {"file_name": big}],
        "annotations": [{"id": n, "image_id": big, "category_id": big} for n in range(60)],
        "categories": [{"id": 1, "name": "cat"}, big, {"id": "two", "name": long_name}],
    }
    files = {
        "annotations/instances_train.json": json.dumps(doc).encode(),
        "images/train/a.png": build.digits_png(0),
    }
    r = _upload(client, engineer, work_tmp, archive=("q.zip", _tiny_zip(files)))
    body = _stored_body(client, engineer, r)
    errors = json.loads(body)["validation_errors"]
    # images, bad image entries, annotations, categories, and "no usable images"
    assert errors["count"] == 150 + 2 + 60 + 2 + 1
    assert 100 <= errors["listed"] <= 200 and len(errors["errors"]) == errors["listed"]
    assert all(len(e["reason"]) <= MAX_REASON for e in errors["errors"])
    assert all(len(e.get("where") or "") <= MAX_REASON for e in errors["errors"])
    assert len(body) < MAX_LISTED_BYTES + 8 * KB
    # Shortened, still recognizable.
    assert any(e["reason"].startswith("references 'nnnnn") for e in errors["errors"])


# --- item 4: hostile content is a 4xx or a validation error, never a 500 ----------------

BAD_KEYPOINTS = {
    "kpt_shape of words": "kpt_shape: [many, 3]",
    "kpt_shape of lists": "kpt_shape: [[17], 3]",
    "kpt_shape of infinity": "kpt_shape: [.inf, 3]",
    "kpt_shape far too large": "kpt_shape: [100000000000000000000, 3]",
    "flip_idx of words": "kpt_shape: [1, 3]\nflip_idx: [left]",
    "flip_idx not a list": "kpt_shape: [1, 3]\nflip_idx: 7",
}


@pytest.mark.parametrize("line", BAD_KEYPOINTS.values(), ids=BAD_KEYPOINTS.keys())
def test_a_yolo_keypoint_spec_that_is_not_small_integers_is_named(client, engineer, work_tmp, line):
    files = _yolo(f"names: [person]\n{line}\n", label="0 0.5 0.5 0.5 0.5 0.5 0.5 2\n")
    r = _upload(client, engineer, work_tmp, archive=("pose.zip", _tiny_zip(files)))
    first = r.json()["validation_errors"]["errors"][0]
    field = line.splitlines()[-1].split(":")[0]  # kpt_shape or flip_idx
    assert first["file"] == "data.yaml" and f"`{field}` must" in first["reason"]


DEEP_JSON = '{"images": [], "categories": [], "annotations": ' + "[" * 100_000 + "]" * 100_000 + "}"


@pytest.mark.parametrize("beside_a_good_one", [False, True], ids=["alone", "beside a good one"])
@pytest.mark.parametrize("mode", ["zip", "files"])
def test_a_deeply_nested_coco_file_is_named(
    client, engineer, work_tmp, tmp_path, mode, beside_a_good_one
):
    if beside_a_good_one:
        build.coco_dataset(tmp_path / "coco")
        files = build.folder_files(tmp_path / "coco")
    else:
        files = {"images/val/a.png": build.digits_png(0)}
    files["annotations/instances_val.json"] = DEEP_JSON.encode()
    r = _upload(client, engineer, work_tmp, **_as(mode, files))
    errors = r.json()["validation_errors"]["errors"]
    named = [e for e in errors if e["file"] == "annotations/instances_val.json"]
    assert named and named[0]["reason"] == "not valid JSON: nested too deeply to read", errors


COLLISIONS = {
    "file, then a folder of its name": ["train/digit_0/a.png", "train/digit_0/a.png/b.png"],
    "folder, then a file of its name": ["train/digit_0/a.png/b.png", "train/digit_0/a.png"],
    "file, then a deeper folder": ["train/digit_0/a.png", "train/digit_0/a.png/x/b.png"],
}


@pytest.mark.parametrize("names", COLLISIONS.values(), ids=COLLISIONS.keys())
@pytest.mark.parametrize("mode", ["zip", "tar", "files"])
def test_a_file_and_a_folder_of_the_same_name_are_refused(client, engineer, work_tmp, names, mode):
    files = build.imagefolder_files(classes=(0, 1), train=2, val=1)
    files |= {name: build.digits_png(i) for i, name in enumerate(names)}
    upload = {"archive": ("d.tar", _tar(files))} if mode == "tar" else _as(mode, files)
    r = _upload(client, engineer, work_tmp, **upload)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "path_conflict"
    assert "train/digit_0/a.png" in error["message"]


LONG = {
    "a name of 256 bytes": "train/digit_0/" + "n" * 252 + ".png",
    "a name of 128 two-byte letters": "train/digit_0/" + "é" * 126 + ".png",
    "a path past any key limit": "train/" + "/".join(["d" * 200] * 6) + "/a.png",
    "a path deeper than any dataset": "train/digit_0/" + "d/" * 100 + "a.png",
}


@pytest.mark.parametrize("name", LONG.values(), ids=LONG.keys())
@pytest.mark.parametrize("mode", ["zip", "tar", "files"])
def test_names_no_filesystem_can_hold_are_refused(client, engineer, work_tmp, name, mode):
    files = build.imagefolder_files(classes=(0, 1), train=2, val=1) | {name: build.digits_png(5)}
    upload = {"archive": ("d.tar", _tar(files))} if mode == "tar" else _as(mode, files)
    r = _upload(client, engineer, work_tmp, **upload)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "name_too_long"
    assert name[:40] in error["message"] and len(error["message"]) < 1000


def test_a_tar_entry_name_that_is_not_utf8_is_refused(client, engineer, work_tmp):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="latin-1") as tf:
        for name, data in build.imagefolder_files(classes=(0, 1), train=2, val=1).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        data = build.digits_png(7)
        info = tarfile.TarInfo("train/digit_0/caf\xe9.png")  # latin-1 bytes: not UTF-8
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    r = _upload(client, engineer, work_tmp, archive=("latin.tar", buf.getvalue()))
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsafe_archive"
    assert "caf" in r.json()["error"]["message"]


def test_an_archive_with_a_very_long_name_is_stored_under_a_short_one(client, engineer):
    files = build.imagefolder_files(classes=(0, 1), train=2, val=1)
    r = upload_dataset(client, engineer, archive=("d" * 300 + ".tar.gz", build.tar_gz_bytes(files)))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "ready"


NOT_FINITE = {
    "yolo": _yolo("names: [cat]\n", label="0 nan 0.5 0.2 0.2\n"),
    "yolo polygon": _yolo("names: [cat]\n", label="0 0.1 0.1 0.5 nan 0.9 0.9\n"),
    "coco": {
        "annotations/instances_train.json": json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.png"}],
                "annotations": [
                    {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, float("nan")]}
                ],
                "categories": [{"id": 1, "name": "cat"}],
            }
        ).encode(),
        "images/train/a.png": build.digits_png(0),
    },
}


@pytest.mark.parametrize("files", NOT_FINITE.values(), ids=NOT_FINITE.keys())
def test_coordinates_that_are_not_finite_numbers_are_problems(client, engineer, work_tmp, files):
    r = _upload(client, engineer, work_tmp, files=files)
    errors = r.json()["validation_errors"]
    assert errors["count"] == 1, errors
    assert errors["errors"][0]["file"] in ("labels/train/a.txt", "annotations/instances_train.json")


def _entity_bomb(levels: int = 4) -> str:
    """443 bytes of XML whose <name> expands to 7 MB (expat allows that much)."""
    entities = '<!ENTITY e0 "' + "x" * 100 + '">'
    for i in range(1, levels + 1):
        entities += f'<!ENTITY e{i} "' + f"&e{i - 1};" * 10 + '">'
    name = f"&e{levels};" * 7
    return (
        f'<?xml version="1.0"?><!DOCTYPE annotation [{entities}]><annotation>'
        f"<filename>a.png</filename><object><name>{name}</name><bndbox><xmin>1</xmin>"
        "<ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>"
    )


def test_a_voc_file_with_entities_is_a_small_validation_error(client, engineer, work_tmp):
    files = {"Annotations/a.xml": _entity_bomb().encode(), "JPEGImages/a.png": build.digits_png(0)}
    r = _upload(client, engineer, work_tmp, archive=("voc.zip", _tiny_zip(files)))
    body = _stored_body(client, engineer, r)
    assert len(body) < 4 * KB
    first = json.loads(body)["validation_errors"]["errors"][0]
    assert first["file"] == "Annotations/a.xml" and "DTD" in first["reason"]


def test_class_names_longer_than_a_folder_name_are_problems(client, engineer, work_tmp):
    files = _yolo("names: [cat, " + "n" * 10_000 + "]\n")
    r = _upload(client, engineer, work_tmp, files=files)
    errors = r.json()["validation_errors"]
    assert errors["by_code"] == {"bad_class_name": 1}
    assert len(r.content) < 4 * KB


NOT_UNICODE = {
    "yaml": ("data.yaml", _yolo('names: ["\\ud800"]\n')),
    "coco": (
        "annotations/instances_train.json",
        {
            "annotations/instances_train.json": b'{"images": [{"id": 1, "file_name": "a.png"}], '
            b'"annotations": [], "categories": [{"id": 1, "name": "\\udc00"}]}',
            "images/train/a.png": build.digits_png(0),
        },
    ),
}


@pytest.mark.parametrize(("named", "files"), NOT_UNICODE.values(), ids=NOT_UNICODE.keys())
def test_escaped_strings_that_are_not_unicode_are_named(client, engineer, work_tmp, named, files):
    """Half a surrogate pair, escaped: no JSON column or file can store it."""
    r = _upload(client, engineer, work_tmp, files=files)
    first = r.json()["validation_errors"]["errors"][0]
    assert first["file"] == named and "surrogate" in first["reason"]


# --- archives whose own structure asks for unbounded work ---------------------------------


def test_a_tar_header_that_declares_a_huge_name_is_refused_as_a_bomb(client, engineer, work_tmp):
    """tarfile reads a GNU long-name header whole: 100 MiB of name from 100 KiB."""
    size = 100 * 2**20
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as gz:
        header = tarfile.TarInfo("././@LongLink")
        header.type, header.size = tarfile.GNUTYPE_LONGNAME, size
        gz.write(header.tobuf(format=tarfile.GNU_FORMAT))
        for _ in range(size // 2**20):
            gz.write(b"a" * 2**20)
        gz.write(b"\0" * 1024)
    assert len(buf.getvalue()) < 200 * KB
    r = _upload(client, engineer, work_tmp, archive=("names.tar.gz", buf.getvalue()))
    assert r.status_code == 413 and r.json()["error"]["code"] == "archive_too_large"


def _zip_with(flag_bits: int = 0, method: int | None = None) -> bytes:
    """A zip of GOOD files whose last entry is marked encrypted, or compressed by `method`."""
    data = bytearray(_tiny_zip(build.imagefolder_files(classes=(0, 1), train=2, val=1)))
    local = data.rfind(b"PK\x03\x04")
    central = data.rfind(b"PK\x01\x02")
    data[local + 6] |= flag_bits
    data[central + 8] |= flag_bits
    if method is not None:
        data[local + 8 : local + 10] = method.to_bytes(2, "little")
        data[central + 10 : central + 12] = method.to_bytes(2, "little")
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "why"),
    [(_zip_with(flag_bits=1), "encrypted"), (_zip_with(method=99), "method")],
    ids=["encrypted", "unknown compression"],
)
def test_zip_entries_that_cannot_be_read_are_refused(client, engineer, work_tmp, data, why):
    r = _upload(client, engineer, work_tmp, archive=("odd.zip", data))
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_archive"
    assert why in r.json()["error"]["message"]
