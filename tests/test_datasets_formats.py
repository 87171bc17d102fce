"""Each format goes in, is detected with a reason, and comes out as the same manifest
and stats: checked against what the outside tools that wrote it (pycocotools,
Ultralytics' converter) say of the data.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests import dataset_builders as build
from tests.conftest import upload_dataset


@pytest.fixture()
def engineer(make_user):  # type: ignore[no-untyped-def]
    return make_user("engineer_ii")


def _per_class(body: dict) -> dict[str, tuple[int, int]]:
    return {c["name"]: (c["images"], c["instances"]) for c in body["stats"]["classes"]}


def _coco_truth(docs: dict[str, dict]) -> dict[str, tuple[int, int]]:
    """Per class (images, instances), as pycocotools counts them over all splits."""
    from pycocotools.coco import COCO

    images: Counter[str] = Counter()
    instances: Counter[str] = Counter()
    for doc in docs.values():
        coco = COCO()
        coco.dataset = doc
        coco.createIndex()
        for cat in coco.loadCats(coco.getCatIds()):
            images[cat["name"]] += len(coco.getImgIds(catIds=[cat["id"]]))
            instances[cat["name"]] += len(coco.getAnnIds(catIds=[cat["id"]]))
    return {name: (images[name], instances[name]) for name in images}


def test_imagefolder_with_splits_is_detected_and_counted(client, engineer):
    files = build.imagefolder_files(classes=(0, 1, 2), train=6, val=2)
    r = upload_dataset(
        client, engineer, archive=("digits.zip", build.zip_bytes(files, top="digits/"))
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "ready", body["validation_errors"]
    assert body["format"] == "imagefolder" and body["task_type"] == "image_classification"
    assert "split/class folders" in body["format_detection"]["reason"]
    assert body["format_detection"]["root"] == "digits"
    assert body["class_names"] == ["digit_0", "digit_1", "digit_2"]
    assert body["stats"]["images_per_split"] == {"train": 18, "val": 6}
    assert _per_class(body) == {f"digit_{c}": (8, 8) for c in range(3)}
    assert body["stats"]["image_size"]["width"] == {"min": 8, "max": 8, "median": 8}

    manifest = client.get(
        f"/api/v1/datasets/{body['id']}/manifest", headers=engineer.headers
    ).json()
    assert len(manifest["images"]) == 24
    first = manifest["images"][0]
    assert first["path"].startswith(("train/", "val/")) and first["label"] in (0, 1, 2)
    # The label is the class folder the file sat in.
    for image in manifest["images"]:
        assert manifest["classes"][image["label"]] == image["path"].split("/")[1]


def test_loose_files_and_tar_gz_give_the_same_dataset_as_a_zip(client, engineer):
    files = build.imagefolder_files(classes=(3, 4), train=3, val=1)
    by_files = upload_dataset(client, engineer, files=files).json()
    by_tar = upload_dataset(
        client, engineer, archive=("d.tar.gz", build.tar_gz_bytes(files))
    ).json()
    assert by_files["status"] == by_tar["status"] == "ready"
    m1 = client.get(f"/api/v1/datasets/{by_files['id']}/manifest", headers=engineer.headers).json()
    m2 = client.get(f"/api/v1/datasets/{by_tar['id']}/manifest", headers=engineer.headers).json()
    assert m1 == m2


def test_class_folders_without_splits_are_split_by_ratio_deterministically(client, engineer):
    files = build.imagefolder_files(classes=(0, 1), train=10, val=0, with_splits=False)
    split = {"strategy": "auto", "train": 0.7, "val": 0.3, "test": 0.0, "seed": 7}
    a = upload_dataset(client, engineer, files=files, split=split).json()
    b = upload_dataset(client, engineer, files=files, split=split).json()
    c = upload_dataset(client, engineer, files=files, split=split | {"seed": 8}).json()
    assert "one folder per class" in a["format_detection"]["reason"]
    # Stratified: 3 of each class's 10 images go to val.
    assert a["stats"]["images_per_split"] == {"train": 14, "val": 6}

    def splits(d):  # type: ignore[no-untyped-def]
        m = client.get(f"/api/v1/datasets/{d['id']}/manifest", headers=engineer.headers).json()
        return {i["path"]: i["split"] for i in m["images"]}

    assert splits(a) == splits(b)
    assert splits(a) != splits(c)
    val_classes = Counter(p.split("/")[0] for p, s in splits(a).items() if s == "val")
    assert val_classes == {"digit_0": 3, "digit_1": 3}


def test_coco_detection_stats_match_pycocotools(client, engineer, tmp_path: Path):
    docs = build.coco_dataset(tmp_path / "coco")
    r = upload_dataset(
        client,
        engineer,
        archive=("coco.zip", build.zip_bytes(build.folder_files(tmp_path / "coco"))),
    )
    body = r.json()
    assert body["status"] == "ready", body["validation_errors"]
    assert body["format"] == "coco" and body["task_type"] == "object_detection"
    assert "instances_train.json" in body["format_detection"]["reason"]
    assert body["stats"]["images_per_split"] == {"train": 6, "val": 2}
    assert _per_class(body) == _coco_truth(docs)


def test_yolo_written_by_ultralytics_gives_the_coco_stats(client, engineer, tmp_path: Path):
    docs = build.coco_dataset(tmp_path / "coco")
    yolo = build.yolo_from_coco(tmp_path / "coco", tmp_path / "yolo")
    r = upload_dataset(
        client, engineer, archive=("yolo.zip", build.zip_bytes(build.folder_files(yolo)))
    )
    body = r.json()
    assert body["status"] == "ready", body["validation_errors"]
    assert body["format"] == "yolo" and body["task_type"] == "object_detection"
    assert body["class_names"] == build.CLASSES
    assert body["stats"]["images_per_split"] == {"train": 6, "val": 2}
    assert _per_class(body) == _coco_truth(docs)
    # The boxes survive the trip COCO -> YOLO (normalized) -> manifest (pixels).
    coco = upload_dataset(
        client, engineer, archive=("c.zip", build.zip_bytes(build.folder_files(tmp_path / "coco")))
    ).json()
    m_yolo = client.get(f"/api/v1/datasets/{body['id']}/manifest", headers=engineer.headers).json()
    m_coco = client.get(f"/api/v1/datasets/{coco['id']}/manifest", headers=engineer.headers).json()
    by_name = {Path(i["path"]).name: i for i in m_coco["images"]}
    for image in m_yolo["images"]:
        theirs = by_name[Path(image["path"]).name]
        mine = sorted(tuple(a["bbox"]) for a in image["annotations"])
        ref = sorted(tuple(a["bbox"]) for a in theirs["annotations"])
        assert len(mine) == len(ref)
        for b1, b2 in zip(mine, ref, strict=True):
            assert b1 == pytest.approx(b2, abs=0.05)


def test_pascal_voc_gives_the_coco_stats(client, engineer, tmp_path: Path):
    docs = build.coco_dataset(tmp_path / "coco")
    voc = build.voc_from_coco(tmp_path / "coco", docs, tmp_path / "VOC2012")
    r = upload_dataset(
        client,
        engineer,
        archive=(
            "voc.tar.gz",
            build.tar_gz_bytes({f"VOC2012/{k}": v for k, v in build.folder_files(voc).items()}),
        ),
    )
    body = r.json()
    assert body["status"] == "ready", body["validation_errors"]
    assert body["format"] == "pascal_voc"
    assert "Annotations/" in body["format_detection"]["reason"]
    assert body["stats"]["images_per_split"] == {"train": 6, "val": 2}
    assert _per_class(body) == _coco_truth(docs)


def test_coco_segmentation_keeps_polygons_and_rle_masks(client, engineer, tmp_path: Path):
    docs = build.coco_dataset(tmp_path / "coco", kind="segmentation")
    body = upload_dataset(
        client,
        engineer,
        archive=("seg.zip", build.zip_bytes(build.folder_files(tmp_path / "coco"))),
    ).json()
    assert body["status"] == "ready", body["validation_errors"]
    assert body["task_type"] == "instance_segmentation"
    m = client.get(f"/api/v1/datasets/{body['id']}/manifest", headers=engineer.headers).json()
    anns = [a for i in m["images"] for a in i["annotations"]]
    n_rle = sum(
        isinstance(a["segmentation"], dict) for d in docs.values() for a in d["annotations"]
    )
    assert sum(a["rle"] is not None for a in anns) == n_rle > 0
    assert sum(a["polygons"] is not None for a in anns) == len(anns) - n_rle > 0


def test_yolo_segmentation_and_pose_from_ultralytics(client, engineer, tmp_path: Path):
    build.coco_dataset(tmp_path / "seg", kind="segmentation", rle=False)
    seg = build.yolo_from_coco(tmp_path / "seg", tmp_path / "yseg", kind="segmentation")
    body = upload_dataset(
        client, engineer, archive=("s.zip", build.zip_bytes(build.folder_files(seg)))
    ).json()
    assert body["status"] == "ready", body["validation_errors"]
    assert body["task_type"] == "instance_segmentation"

    docs = build.coco_dataset(tmp_path / "kp", kind="keypoints")
    pose = build.yolo_from_coco(tmp_path / "kp", tmp_path / "ykp", kind="keypoints")
    body = upload_dataset(
        client, engineer, archive=("p.zip", build.zip_bytes(build.folder_files(pose)))
    ).json()
    assert body["status"] == "ready", body["validation_errors"]
    assert body["task_type"] == "pose_estimation"
    m = client.get(f"/api/v1/datasets/{body['id']}/manifest", headers=engineer.headers).json()
    assert m["keypoints"]["num"] == 4 and m["keypoints"]["flip_idx"] == [0, 2, 1, 3]
    n_instances = sum(len(d["annotations"]) for d in docs.values())
    assert sum(len(i["annotations"]) for i in m["images"]) == n_instances
    assert all(len(a["keypoints"]) == 12 for i in m["images"] for a in i["annotations"])

    coco = upload_dataset(
        client, engineer, archive=("k.zip", build.zip_bytes(build.folder_files(tmp_path / "kp")))
    ).json()
    assert coco["status"] == "ready" and coco["task_type"] == "pose_estimation"


def test_declaring_a_narrower_task_keeps_only_boxes(client, engineer, tmp_path: Path):
    build.coco_dataset(tmp_path / "coco", kind="segmentation")
    seg_zip = build.zip_bytes(build.folder_files(tmp_path / "coco"))
    body = upload_dataset(
        client, engineer, archive=("seg.zip", seg_zip),
        task_type="object_detection",
    ).json()  # fmt: skip
    assert body["status"] == "ready" and body["task_type"] == "object_detection"
    m = client.get(f"/api/v1/datasets/{body['id']}/manifest", headers=engineer.headers).json()
    assert all(
        a["polygons"] is None and a["rle"] is None for i in m["images"] for a in i["annotations"]
    )
