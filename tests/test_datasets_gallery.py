"""A dataset's gallery: thumbnails made at ingest (and, for datasets made before them, on
first view), and `GET /api/v1/datasets/{id}/images`, a page at a time, filtered by split
and class, each image with the manifest's own annotations and signed URLs.

Datasets are real uploads of real photos in the formats outside tools write (COCO by
pycocotools' conventions, YOLO by Ultralytics' converter); what the route answers is
held to the dataset's own manifest, and thumbnails to Pillow's own downscale of the
original.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from api.services.storage import get_storage
from api.settings import get_settings
from tests import dataset_builders as build
from tests import detection_data
from tests.conftest import upload_dataset

FILES = build.imagefolder_files(classes=(0, 1, 2), train=4, val=2)


@pytest.fixture()
def engineer(make_user):  # type: ignore[no-untyped-def]
    return make_user("engineer_ii")


def _storage():  # type: ignore[no-untyped-def]
    return get_storage(get_settings())


def _ready(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "ready", body["validation_errors"]
    return body  # type: ignore[no-any-return]


def _coco_zip(tmp_path: Path, kind: str) -> bytes:
    build.coco_dataset(tmp_path / kind, kind=kind)
    return build.zip_bytes(build.folder_files(tmp_path / kind))


def _manifest(client, account, dataset_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/datasets/{dataset_id}/manifest", headers=account.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _images(client, account, dataset_id: str, **params: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/datasets/{dataset_id}/images", params=params, headers=account.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _all_pages(client, account, dataset_id: str, limit: int, **params: Any) -> list[dict]:  # type: ignore[no-untyped-def]
    items: list[dict] = []
    offset = 0
    while True:
        page = _images(client, account, dataset_id, limit=limit, offset=offset, **params)
        assert page["limit"] == limit and page["offset"] == offset
        items += page["items"]
        offset += limit
        if offset >= page["total"]:
            assert len(items) == page["total"]
            return items


def _thumbnail_key(dataset_id: str, sha256: str) -> str:
    return f"datasets/{dataset_id}/thumbnails/{sha256}.jpg"


def test_ingest_stores_a_small_jpeg_of_every_image_in_its_aspect_ratio(client, engineer, tmp_path):
    body = _ready(
        upload_dataset(client, engineer, archive=("seg.zip", _coco_zip(tmp_path, "segmentation")))
    )
    manifest = _manifest(client, engineer, body["id"])
    originals = {p.name: p for p in build.real_photos()}
    assert len(manifest["images"]) == len(originals) == 8
    for image in manifest["images"]:
        data = _storage().get_bytes(_thumbnail_key(body["id"], image["sha256"]))
        thumb = Image.open(io.BytesIO(data))
        assert thumb.format == "JPEG" and thumb.mode == "RGB" and len(data) < 16_000
        w, h = image["width"], image["height"]
        tw, th = thumb.size
        assert max(tw, th) == 128  # every photo is larger: its longer side becomes 128
        # The same shape, to the pixel that rounding may cost.
        assert abs(tw * h - th * w) <= max(w, h) / 2
        # The same picture, upright as stored: next to Pillow's own downscale of it, both
        # seen at a quarter of the size (past JPEG's and the filters' fine differences).
        original = Image.open(originals[Path(image["path"]).name]).convert("RGB")
        small = (tw // 4, th // 4)
        expected = np.asarray(original.resize(small, Image.Resampling.LANCZOS), dtype=float)
        seen = np.asarray(thumb.resize(small, Image.Resampling.BOX), dtype=float)
        assert np.abs(seen - expected).mean() < 10  # measured: at most 6; mirrored: 20 to 80
    marker = _storage().get_bytes(f"datasets/{body['id']}/thumbnails.json")
    assert b'"max_side": 128' in marker


def test_a_small_image_keeps_its_size_and_a_transparent_one_is_laid_on_white(client, engineer):
    rgba = Image.new("RGBA", (40, 20), (0, 0, 255, 0))
    rgba.paste((255, 0, 0, 255), (0, 0, 20, 20))  # left half opaque red, right transparent
    buf = io.BytesIO()
    rgba.save(buf, "PNG")
    files = {"a/digit.png": build.digits_png(0), "b/clear.png": buf.getvalue()}
    body = _ready(upload_dataset(client, engineer, files=files))
    for image in _manifest(client, engineer, body["id"])["images"]:
        thumb = Image.open(
            io.BytesIO(_storage().get_bytes(_thumbnail_key(body["id"], image["sha256"])))
        )
        assert thumb.size == (image["width"], image["height"])  # never enlarged
        if image["path"] == "b/clear.png":
            red, white = (
                thumb.convert("RGB").getpixel((5, 10)),
                thumb.convert("RGB").getpixel((35, 10)),
            )
            assert red[0] > 200 and red[1] < 60 and min(white) > 230


def test_the_images_route_pages_an_imagefolder_dataset_by_split_and_class(client, engineer):
    body = _ready(upload_dataset(client, engineer, files=FILES))
    manifest = _manifest(client, engineer, body["id"])
    paths = [i["path"] for i in manifest["images"]]
    items = _all_pages(client, engineer, body["id"], limit=5)
    assert [i["path"] for i in items] == paths == sorted(paths)
    first = _images(client, engineer, body["id"], limit=5)
    assert first["total"] == 18 and first["task_type"] == "image_classification"
    assert first["classes"] == ["digit_0", "digit_1", "digit_2"] and first["keypoints"] is None
    assert first["thumbnail_max_side"] == 128
    by_path = {i["path"]: i for i in manifest["images"]}
    for item in items:
        image = by_path[item["path"]]
        for k in ("split", "width", "height", "size", "sha256", "label"):
            assert item[k] == image[k]
        assert item["label_name"] == f"digit_{image['label']}" and item["annotations"] == []
        # The original's URL serves the uploaded bytes, with no login.
        assert client.get(item["url"]).content == FILES[item["path"]]
        thumb = client.get(item["thumbnail_url"])
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"

    val = _all_pages(client, engineer, body["id"], limit=4, split="val")
    assert [i["path"] for i in val] == [p for p in paths if by_path[p]["split"] == "val"]
    assert len(val) == 6
    ones = _all_pages(client, engineer, body["id"], limit=200, class_name="digit_1")
    assert {i["path"] for i in ones} == {p for p in paths if p.split("/")[1] == "digit_1"}
    both = _images(client, engineer, body["id"], split="val", class_name="digit_2")
    assert [i["path"] for i in both["items"]] == [
        p for p in paths if p.startswith("val/digit_2/")
    ] and both["total"] == 2
    past = _images(client, engineer, body["id"], offset=18)
    assert past["items"] == [] and past["total"] == 18  # past the end: an empty page
    assert _images(client, engineer, body["id"], split="test")["total"] == 0


def _without_class_name(annotation: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in annotation.items() if k != "class_name"}


@pytest.mark.parametrize("source", ["yolo_detection", "coco_segmentation", "coco_keypoints"])
def test_annotations_are_the_manifests_with_their_class_names(client, engineer, tmp_path, source):
    if source == "yolo_detection":
        archive = detection_data.yolo_detection_zip()
    else:
        archive = _coco_zip(tmp_path, source.removeprefix("coco_"))
    body = _ready(upload_dataset(client, engineer, archive=(f"{source}.zip", archive)))
    manifest = _manifest(client, engineer, body["id"])
    classes = manifest["classes"]
    items = _all_pages(client, engineer, body["id"], limit=3)
    assert [i["path"] for i in items] == [i["path"] for i in manifest["images"]]
    kinds = set()
    for item, image in zip(items, manifest["images"], strict=True):
        assert [_without_class_name(a) for a in item["annotations"]] == image["annotations"]
        assert [a["class_name"] for a in item["annotations"]] == [
            classes[a["class_id"]] for a in image["annotations"]
        ]
        for a in image["annotations"]:
            kinds |= {k for k in ("polygons", "rle", "keypoints") if a[k]}
    expected_kinds = {
        "yolo_detection": set(),
        "coco_segmentation": {"polygons", "rle"},
        "coco_keypoints": {"keypoints"},
    }
    assert kinds == expected_kinds[source]
    page = _images(client, engineer, body["id"], limit=1)
    assert page["keypoints"] == manifest["keypoints"] and page["task_type"] == manifest["task_type"]
    for class_id, name in enumerate(classes):
        shown = _all_pages(client, engineer, body["id"], limit=200, class_name=name)
        holding = [
            i["path"]
            for i in manifest["images"]
            if any(a["class_id"] == class_id for a in i["annotations"])
        ]
        assert [i["path"] for i in shown] == holding


def test_another_users_private_dataset_is_404_and_a_public_one_is_shown(
    client, engineer, make_user
):
    body = _ready(upload_dataset(client, engineer, files=FILES))
    stranger = make_user("engineer_ii")
    url = f"/api/v1/datasets/{body['id']}/images"
    r = client.get(url, headers=stranger.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
    missing = client.get(f"/api/v1/datasets/{body['id'][:-4]}0000/images", headers=engineer.headers)
    assert missing.status_code == 404
    assert client.get(url).status_code == 401
    r = client.patch(
        f"/api/v1/datasets/{body['id']}", json={"visibility": "public"}, headers=engineer.headers
    )
    assert r.status_code == 200
    assert client.get(url, headers=stranger.headers).json()["total"] == 18
    # Public datasets are listed to everyone: leave none behind for other tests' lists.
    assert (
        client.delete(f"/api/v1/datasets/{body['id']}", headers=engineer.headers).status_code == 204
    )


def test_bad_parameters_answer_4xx_in_the_common_shape(client, engineer):
    body = _ready(upload_dataset(client, engineer, files=FILES))
    url = f"/api/v1/datasets/{body['id']}/images"
    cases = {
        "limit=0": (422, "validation_error"),
        "limit=201": (422, "validation_error"),
        "limit=ten": (422, "validation_error"),
        "offset=-1": (422, "validation_error"),
        "offset=99999999999999999999999999": (422, "validation_error"),
        "offset=9223372036854775808": (422, "validation_error"),
        "split=training": (422, "validation_error"),
        "class_name=": (422, "validation_error"),
        "class_name=" + "x" * 256: (422, "validation_error"),
        "class_name=digit_9": (422, "unknown_class"),
    }
    for query, (status, code) in cases.items():
        r = client.get(f"{url}?{query}", headers=engineer.headers)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), query
    for query in ("class_name=digit_1%00", "class_name=%00", "split=val%00"):
        # Refused as no class of the dataset, or before that as a NUL in the query.
        r = client.get(f"{url}?{query}", headers=engineer.headers)
        assert r.status_code == 422 and set(r.json()) == {"error"}, query
    r = client.get("/api/v1/datasets/not-a-uuid%00/images", headers=engineer.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error")
    # The same bound holds for every list: a huge offset was a database error (500).
    r = client.get("/api/v1/datasets?offset=99999999999999999999", headers=engineer.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error")
    # A dataset whose content was refused has no images to show.
    broken = upload_dataset(client, engineer, files={"only/1.png": build.digits_png(1)}).json()
    assert broken["status"] == "error"
    r = client.get(f"/api/v1/datasets/{broken['id']}/images", headers=engineer.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "not_ready")


def test_a_dataset_made_before_thumbnails_gets_them_on_first_view(client, engineer, tmp_path):
    body = _ready(
        upload_dataset(client, engineer, archive=("det.zip", _coco_zip(tmp_path, "detection")))
    )
    storage = _storage()
    prefix = f"datasets/{body['id']}/"
    made_at_ingest = {
        info.key: storage.get_bytes(info.key) for info in storage.list(f"{prefix}thumbnails/")
    }
    assert len(made_at_ingest) == 8
    # As a dataset ingested before this change left it: no thumbnails, no marker.
    assert storage.delete_prefix(f"{prefix}thumbnails") == 9
    page = _images(client, engineer, body["id"], limit=3)
    shown = {_thumbnail_key(body["id"], i["sha256"]) for i in page["items"]}
    assert {i.key for i in storage.list(f"{prefix}thumbnails/")} == shown
    for item in page["items"]:
        made = client.get(item["thumbnail_url"])
        assert made.status_code == 200
        # From the stored original, the same JPEG as ingest made from the upload.
        assert made.content == made_at_ingest[_thumbnail_key(body["id"], item["sha256"])]
    _all_pages(client, engineer, body["id"], limit=3)
    assert {i.key for i in storage.list(f"{prefix}thumbnails/")} == set(made_at_ingest)


def test_a_resplit_shows_in_the_gallery_at_once(client, engineer):
    body = _ready(upload_dataset(client, engineer, files=FILES))
    assert _images(client, engineer, body["id"], split="val")["total"] == 6
    r = client.post(
        f"/api/v1/datasets/{body['id']}/split",
        json={"strategy": "ratio", "train": 0.5, "val": 0.5, "seed": 1},
        headers=engineer.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["stats"]["images_per_split"] == {"train": 9, "val": 9}
    val = _all_pages(client, engineer, body["id"], limit=200, split="val")
    manifest = _manifest(client, engineer, body["id"])
    assert [i["path"] for i in val] == [
        i["path"] for i in manifest["images"] if i["split"] == "val"
    ]
    assert len(val) == 9


def test_on_s3_the_urls_are_presigned_and_typed_for_a_browser(s3_client, make_user):
    client, storage = s3_client
    user = make_user("engineer_ii")
    body = _ready(upload_dataset(client, user, files=FILES))
    page = _images(client, user, body["id"], limit=2)
    for item in page["items"]:
        thumb = httpx.get(item["thumbnail_url"], timeout=30)  # plain HTTP, no credentials
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(thumb.content)).format == "JPEG"
        original = httpx.get(item["url"], timeout=30)
        assert original.headers["content-type"] == "image/png"
        assert original.content == FILES[item["path"]]
    assert client.delete(f"/api/v1/datasets/{body['id']}", headers=user.headers).status_code == 204
    assert list(storage.list(f"datasets/{body['id']}/")) == []
