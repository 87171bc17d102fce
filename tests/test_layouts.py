"""The manifest becomes what each framework reads, and the frameworks' own loaders
(torchvision's ImageFolder, Ultralytics' YOLODataset) see the same data in it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from api.services.storage import get_storage
from api.settings import get_settings
from contract.manifest import Manifest
from tests import dataset_builders as build
from tests.conftest import upload_dataset
from trainers import layouts


def _ingested(client, account, archive: tuple[str, bytes], dest: Path) -> tuple[Manifest, Path]:  # type: ignore[no-untyped-def]
    """Upload through the API, then fetch the manifest and files as a worker would."""
    body = upload_dataset(client, account, archive=archive).json()
    assert body["status"] == "ready", body["validation_errors"]
    manifest = Manifest.model_validate(
        client.get(f"/api/v1/datasets/{body['id']}/manifest", headers=account.headers).json()
    )
    storage = get_storage(get_settings())
    for image in manifest.images:
        storage.download_file(f"datasets/{body['id']}/files/{image.path}", dest / image.path)
    return manifest, dest


@pytest.fixture()
def engineer(make_user):  # type: ignore[no-untyped-def]
    return make_user("engineer_ii")


def test_imagefolder_layout_reads_the_same_in_torchvision(client, engineer, tmp_path: Path):
    from torchvision.datasets import ImageFolder

    files = build.imagefolder_files(classes=(0, 5, 7), train=5, val=2)
    manifest, root = _ingested(
        client, engineer, ("d.zip", build.zip_bytes(files)), tmp_path / "files"
    )
    roots = layouts.to_imagefolder(manifest, root, tmp_path / "out")
    for split, folder in roots.items():
        loaded = ImageFolder(str(folder))
        assert loaded.classes == manifest.classes
        expected = Counter(i.label for i in manifest.images if i.split == split)
        assert Counter(loaded.targets) == expected


@pytest.mark.parametrize(
    "kind,task", [("detection", "detect"), ("segmentation", "segment"), ("keypoints", "pose")]
)
def test_yolo_layout_reads_the_same_in_ultralytics(client, engineer, tmp_path: Path, kind, task):
    from ultralytics.data.dataset import YOLODataset
    from ultralytics.data.utils import check_det_dataset

    build.coco_dataset(tmp_path / "coco", kind=kind)
    archive = ("c.zip", build.zip_bytes(build.folder_files(tmp_path / "coco")))
    manifest, root = _ingested(client, engineer, archive, tmp_path / "files")
    data_yaml = layouts.to_yolo(manifest, root, tmp_path / "yolo")
    data = check_det_dataset(str(data_yaml), autodownload=False)
    assert list(data["names"].values()) == manifest.classes
    for split in ("train", "val"):
        ds = YOLODataset(img_path=data[split], data=data, task=task, augment=False, imgsz=640)
        by_name = {Path(lbl["im_file"]).name: lbl for lbl in ds.labels}
        for image in (i for i in manifest.images if i.split == split):
            label = by_name[layouts.flat_name(image.path)]
            assert len(label["cls"]) == len(image.annotations)
            assert sorted(label["cls"].reshape(-1).tolist()) == sorted(
                a.class_id for a in image.annotations
            )
            boxes = sorted(tuple(b) for b in label["bboxes"].round(4).tolist())
            expected = sorted(
                _normalized_xywh(a.bbox, image.width, image.height) for a in image.annotations
            )
            # Segment boxes are the outline's extent: an RLE mask is whole pixels.
            assert np.allclose(boxes, expected, atol=1e-2 if task == "segment" else 2e-3)
            if task == "segment":
                assert len(label["segments"]) == len(image.annotations)
            if task == "pose":
                assert label["keypoints"].shape == (len(image.annotations), 4, 3)


def _normalized_xywh(bbox, width, height):  # type: ignore[no-untyped-def]
    x, y, w, h = bbox
    return tuple(
        round(v, 4) for v in ((x + w / 2) / width, (y + h / 2) / height, w / width, h / height)
    )
