"""Datasets for the tests, in every format, from real images that ship inside installed
packages: scikit-learn's digits and sample photos, scikit-image's images, Ultralytics'
assets. YOLO trees are written by Ultralytics' own COCO converter, RLE masks by
pycocotools, so the formats are the outside tools' and not only ours.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

_PKG_IMAGES: list[tuple[str, str]] = [
    ("ultralytics", "assets/bus.jpg"),
    ("ultralytics", "assets/zidane.jpg"),
    ("sklearn.datasets", "images/china.jpg"),
    ("sklearn.datasets", "images/flower.jpg"),
    ("skimage", "data/astronaut.png"),
    ("skimage", "data/coffee.png"),
    ("skimage", "data/chelsea.png"),
    ("skimage", "data/rocket.jpg"),
]
CLASSES = ["person", "vehicle", "animal"]
KEYPOINTS = ["head", "left_hand", "right_hand", "feet"]


def package_image(package: str, rel: str) -> Path:
    import importlib

    module = importlib.import_module(package)
    return Path(module.__file__).parent / rel  # type: ignore[arg-type]


def real_photos() -> list[Path]:
    return [package_image(p, r) for p, r in _PKG_IMAGES]


def digits_png(index: int) -> bytes:
    """Digit `index` of scikit-learn's digits set as a PNG (8x8, its own pixel values)."""
    digits = _digits()
    pixels = (digits.images[index] * (255 / 16)).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buf, format="PNG")
    return buf.getvalue()


_DIGITS = None


def _digits():  # type: ignore[no-untyped-def]
    global _DIGITS
    if _DIGITS is None:
        from sklearn.datasets import load_digits

        _DIGITS = load_digits()
    return _DIGITS


def digits_by_class(
    classes: Iterable[int], per_class: int, offset: int = 0
) -> dict[int, list[int]]:
    """Indices of the first `per_class` digits of each class, after skipping `offset`."""
    target = _digits().target
    return {
        c: [int(i) for i in np.flatnonzero(target == c)[offset : offset + per_class]]
        for c in classes
    }


def imagefolder_files(classes=(0, 1, 2), train=6, val=2, with_splits=True) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    """{relative path: bytes} of an ImageFolder tree of digits, class folders named digit_N."""
    files: dict[str, bytes] = {}
    for c, idx in digits_by_class(classes, train + val).items():
        for n, i in enumerate(idx):
            split = "train" if n < train else "val"
            prefix = f"{split}/" if with_splits else ""
            files[f"{prefix}digit_{c}/{i}.png"] = digits_png(i)
    return files


def zip_bytes(files: dict[str, bytes], top: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(top + name, data)
    return buf.getvalue()


def tar_gz_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def folder_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# --- COCO, and everything derived from it ----------------------------------------------


def _boxes_for(width: int, height: int, k: int) -> list[tuple[float, float, float, float, int]]:
    """Deterministic boxes inside a w x h image: (x, y, w, h, category_id)."""
    out = []
    for j in range(k):
        x = width * (0.05 + 0.3 * j)
        y = height * (0.1 + 0.2 * j)
        out.append(
            (
                round(x, 1),
                round(y, 1),
                round(width * 0.25, 1),
                round(height * 0.3, 1),
                1 + (j + k) % 3,
            )
        )
    return out


def coco_dataset(root: Path, kind: str = "detection", rle: bool = True) -> dict[str, dict]:
    """Write images/{train,val}/ and annotations/instances_{train,val}.json under `root`.

    kind: detection (boxes), segmentation (polygons, and pycocotools RLE masks unless
    not `rle`: Ultralytics' converter needs a package it would download to read them),
    keypoints (pose). Returns the JSON documents by split.
    """
    from pycocotools import mask as mask_utils

    photos = real_photos()
    splits = {"train": photos[:6], "val": photos[6:]}
    docs = {}
    ann_id = 1
    categories = [{"id": i + 1, "name": n, "supercategory": "thing"} for i, n in enumerate(CLASSES)]
    if kind == "keypoints":
        categories = [
            {
                "id": 1,
                "name": "person",
                "supercategory": "person",
                "keypoints": KEYPOINTS,
                "skeleton": [[1, 2], [1, 3], [1, 4]],
            }
        ]
    for split, paths in splits.items():
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        images, annotations = [], []
        for image_id, src in enumerate(paths, start=1 if split == "train" else 101):
            shutil.copy(src, root / "images" / split / src.name)
            w, h = Image.open(src).size
            images.append({"id": image_id, "file_name": src.name, "width": w, "height": h})
            for j, (x, y, bw, bh, cat) in enumerate(_boxes_for(w, h, 1 + image_id % 3)):
                ann = {
                    "id": ann_id,
                    "image_id": image_id,
                    "category_id": 1 if kind == "keypoints" else cat,
                    "bbox": [x, y, bw, bh],
                    "area": bw * bh,
                    "iscrowd": 0,
                }
                if kind == "segmentation":
                    if j % 2 == 0 or not rle:  # a polygon: a diamond inside the box
                        ann["segmentation"] = [
                            [x + bw / 2, y, x + bw, y + bh / 2, x + bw / 2, y + bh, x, y + bh / 2]
                        ]
                    else:  # an RLE mask written by pycocotools
                        m = np.zeros((h, w), dtype=np.uint8, order="F")
                        m[int(y) : int(y + bh), int(x) : int(x + bw)] = 1
                        rle = mask_utils.encode(m)
                        ann["segmentation"] = {"size": [h, w], "counts": rle["counts"].decode()}
                if kind == "keypoints":
                    ann["keypoints"] = [
                        x + bw / 2,
                        y + 2,
                        2,
                        x + 1,
                        y + bh / 2,
                        2,
                        x + bw - 1,
                        y + bh / 2,
                        1,
                        x + bw / 2,
                        y + bh - 2,
                        2,
                    ]
                    ann["num_keypoints"] = 4
                annotations.append(ann)
                ann_id += 1
        doc = {"images": images, "annotations": annotations, "categories": categories}
        (root / "annotations").mkdir(exist_ok=True)
        (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(doc))
        docs[split] = doc
    return docs


def yolo_from_coco(coco_root: Path, out: Path, kind: str = "detection") -> Path:
    """The COCO dataset at `coco_root` as a YOLO tree, labels written by Ultralytics'
    convert_coco; images copied beside them and a data.yaml naming the classes."""
    from ultralytics.data.converter import convert_coco

    save = out / "converted"
    convert_coco(
        labels_dir=str(coco_root / "annotations"),
        save_dir=str(save),
        use_segments=kind == "segmentation",
        use_keypoints=kind == "keypoints",
        cls91to80=False,
    )
    for split in ("train", "val"):
        shutil.copytree(coco_root / "images" / split, save / "images" / split)
    names = ["person"] if kind == "keypoints" else CLASSES
    data = {
        "path": ".",
        "train": "images/train",
        "val": "images/val",
        "names": dict(enumerate(names)),
    }
    lines = [f"{k}: {json.dumps(v)}" for k, v in data.items()]
    if kind == "keypoints":
        lines.append("kpt_shape: [4, 3]")
        lines.append("flip_idx: [0, 2, 1, 3]")
    (save / "data.yaml").write_text("\n".join(lines) + "\n")
    return save


def voc_from_coco(coco_root: Path, docs: dict[str, dict], out: Path) -> Path:
    """The COCO detection dataset as Pascal VOC: Annotations/, JPEGImages/, ImageSets/Main/."""
    (out / "Annotations").mkdir(parents=True)
    (out / "JPEGImages").mkdir()
    (out / "ImageSets" / "Main").mkdir(parents=True)
    for split, doc in docs.items():
        names = {c["id"]: c["name"] for c in doc["categories"]}
        stems = []
        for image in doc["images"]:
            src = coco_root / "images" / split / image["file_name"]
            shutil.copy(src, out / "JPEGImages" / src.name)
            stem = Path(src.name).stem
            stems.append(stem)
            objects = "".join(
                f"<object><name>{names[a['category_id']]}</name><difficult>0</difficult><bndbox>"
                f"<xmin>{a['bbox'][0]}</xmin><ymin>{a['bbox'][1]}</ymin>"
                f"<xmax>{a['bbox'][0] + a['bbox'][2]}</xmax>"
                f"<ymax>{a['bbox'][1] + a['bbox'][3]}</ymax>"
                "</bndbox></object>"
                for a in doc["annotations"]
                if a["image_id"] == image["id"]
            )
            (out / "Annotations" / f"{stem}.xml").write_text(
                f"<annotation><filename>{src.name}</filename><size><width>{image['width']}</width>"
                f"<height>{image['height']}</height><depth>3</depth></size>{objects}</annotation>"
            )
        (out / "ImageSets" / "Main" / f"{split}.txt").write_text("\n".join(stems) + "\n")
    return out


def truncated(data: bytes) -> bytes:
    """An image cut short, as an interrupted copy leaves it."""
    return data[: len(data) // 2]
