"""Tiny detection, segmentation, pose and classification datasets for the trainer tests.

Detection uses real photos that ship inside installed packages (Ultralytics' bus and
Zidane, scikit-image's astronaut and cat), boxed by hand and resized to at most 128 px.
Segmentation and pose need exact masks and keypoints, so their images are shapes drawn
with PIL on a real photo's texture. Each builder writes the images under `root` and
returns the `contract.manifest.Manifest` that describes them; `yolo_detection_zip`
gives the detection set as a YOLO archive for upload through the API.
"""

from __future__ import annotations

import hashlib
import io
import math
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from contract.manifest import Annotation, ImageEntry, KeypointSpec, Manifest
from tests.dataset_builders import digits_by_class, package_image

DETECTION_CLASSES = ["person", "bus", "cat"]
SHAPE_CLASSES = ["circle", "square", "triangle"]
POSE_KEYPOINTS = ["apex", "left", "right"]

# Hand-drawn boxes (x0, y0, x1, y1, class) in each photo's own pixels.
_PHOTOS: list[tuple[str, str, list[tuple[float, float, float, float, int]]]] = [
    (
        "ultralytics",
        "assets/bus.jpg",
        [
            (50, 400, 245, 905, 0),
            (222, 405, 345, 860, 0),
            (670, 380, 810, 875, 0),
            (0, 550, 65, 875, 0),
            (20, 230, 805, 750, 1),
        ],
    ),
    ("ultralytics", "assets/zidane.jpg", [(747, 41, 1140, 712, 0), (120, 195, 1000, 720, 0)]),
    ("skimage", "data/astronaut.png", [(110, 10, 470, 512, 0)]),
    ("skimage", "data/chelsea.png", [(90, 20, 400, 300, 2)]),
]


def _entry(root: Path, rel: str, split: str, image: Image.Image, **fields) -> ImageEntry:  # type: ignore[no-untyped-def]
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    data = path.read_bytes()
    return ImageEntry(
        path=rel,
        split=split,  # type: ignore[arg-type]
        width=image.width,
        height=image.height,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        **fields,
    )


def _photo_variants(max_side: int, flip: bool) -> list[tuple[str, Image.Image, list[Annotation]]]:
    """Each photo resized to `max_side`, optionally mirrored, with its boxes."""
    out = []
    for package, rel, boxes in _PHOTOS:
        src = Image.open(package_image(package, rel)).convert("RGB")
        s = max_side / max(src.size)
        img = src.resize((round(src.width * s), round(src.height * s)), Image.Resampling.BILINEAR)
        anns = []
        for x0, y0, x1, y1, cls in boxes:
            x0, x1 = min(x0 * s, img.width), min(x1 * s, img.width)
            y0, y1 = min(y0 * s, img.height), min(y1 * s, img.height)
            if flip:
                x0, x1 = img.width - x1, img.width - x0
            anns.append(Annotation(class_id=cls, bbox=(x0, y0, x1 - x0, y1 - y0)))
        if flip:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        name = Path(rel).stem + ("_flip" if flip else "") + f"_{max_side}.png"
        out.append((name, img, anns))
    return out


def detection_dataset(root: Path) -> Manifest:
    """8 training images (4 photos and their mirror images, 128 px) and 4 validation
    images (the photos at 112 px): people, a bus and a cat."""
    images = []
    for split, max_side, flips in (("train", 128, (False, True)), ("val", 112, (False,))):
        for flip in flips:
            for name, img, anns in _photo_variants(max_side, flip):
                images.append(_entry(root, f"{split}/{name}", split, img, annotations=anns))
    return Manifest(
        task_type="object_detection",
        source_format="coco",
        classes=DETECTION_CLASSES,
        images=images,
    )


def yolo_detection_zip() -> bytes:
    """The detection set as a YOLO archive: data.yaml, images/{train,val}, labels/{...}."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for split, max_side, flips in (("train", 128, (False, True)), ("val", 112, (False,))):
            for flip in flips:
                for name, img, anns in _photo_variants(max_side, flip):
                    data = io.BytesIO()
                    img.save(data, format="PNG")
                    zf.writestr(f"images/{split}/{name}", data.getvalue())
                    rows = []
                    for a in anns:
                        x, y, w, h = a.bbox
                        values = (
                            (x + w / 2) / img.width,
                            (y + h / 2) / img.height,
                            w / img.width,
                            h / img.height,
                        )
                        rows.append(" ".join([str(a.class_id), *(f"{v:.6f}" for v in values)]))
                    zf.writestr(f"labels/{split}/{Path(name).stem}.txt", "\n".join(rows) + "\n")
        names = "".join(f"  {i}: {n}\n" for i, n in enumerate(DETECTION_CLASSES))
        zf.writestr("data.yaml", f"train: images/train\nval: images/val\nnames:\n{names}")
    return buf.getvalue()


def _texture(size: int, seed: int) -> Image.Image:
    """A crop of scikit-image's coffee photo: a real, busy background."""
    src = Image.open(package_image("skimage", "data/coffee.png")).convert("RGB")
    rng = np.random.default_rng(seed)
    x, y = int(rng.integers(0, src.width - 300)), int(rng.integers(0, src.height - 300))
    return src.crop((x, y, x + 300, y + 300)).resize((size, size))


def _shape_polygon(kind: int, cx: float, cy: float, r: float) -> list[float]:
    if kind == 0:  # circle, as a 24-gon
        pts = [
            (cx + r * math.cos(2 * math.pi * i / 24), cy + r * math.sin(2 * math.pi * i / 24))
            for i in range(24)
        ]
    elif kind == 1:
        pts = [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    else:  # apex up, then the right and the left corner
        pts = [(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    return [round(v, 2) for p in pts for v in p]


def _shapes_image(
    seed: int, size: int, kinds: list[int]
) -> tuple[Image.Image, list[tuple[int, list[float]]]]:
    rng = np.random.default_rng(seed)
    img = _texture(size, seed)
    draw = ImageDraw.Draw(img)
    placed: list[tuple[int, list[float]]] = []
    slots = [(0.27, 0.27), (0.73, 0.73), (0.73, 0.27), (0.27, 0.73)]
    for i, kind in enumerate(kinds):
        fx, fy = slots[i % len(slots)]
        r = size * rng.uniform(0.12, 0.2)
        cx, cy = fx * size + rng.uniform(-4, 4), fy * size + rng.uniform(-4, 4)
        poly = _shape_polygon(kind, cx, cy, r)
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.polygon(list(zip(poly[0::2], poly[1::2], strict=True)), fill=color)
        placed.append((kind, poly))
    return img, placed


def _box_of(poly: list[float]) -> tuple[float, float, float, float]:
    xs, ys = poly[0::2], poly[1::2]
    return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def segmentation_dataset(root: Path, size: int = 96) -> Manifest:
    """Circles, squares and triangles with exact polygon masks: 8 train, 4 val images."""
    images = []
    for i in range(12):
        split = "train" if i < 8 else "val"
        kinds = [i % 3, (i + 1) % 3] if i % 2 else [i % 3]
        img, placed = _shapes_image(i, size, kinds)
        anns = [Annotation(class_id=k, bbox=_box_of(p), polygons=[p]) for k, p in placed]
        images.append(_entry(root, f"{split}/shapes_{i}.png", split, img, annotations=anns))
    return Manifest(
        task_type="instance_segmentation",
        source_format="coco",
        classes=SHAPE_CLASSES,
        images=images,
    )


def pose_dataset(root: Path, size: int = 96) -> Manifest:
    """Triangles whose three corners are keypoints (apex, left, right): 8 train, 4 val."""
    images = []
    for i in range(12):
        split = "train" if i < 8 else "val"
        img, placed = _shapes_image(100 + i, size, [2] * (1 + i % 2))
        anns = []
        for _, poly in placed:
            apex, right, left = poly[0:2], poly[2:4], poly[4:6]
            kpts = [*apex, 2, *left, 2, *right, 2]
            anns.append(Annotation(class_id=0, bbox=_box_of(poly), keypoints=kpts))
        images.append(_entry(root, f"{split}/pose_{i}.png", split, img, annotations=anns))
    return Manifest(
        task_type="pose_estimation",
        source_format="coco",
        classes=["triangle"],
        keypoints=KeypointSpec(num=3, names=POSE_KEYPOINTS, flip_idx=[0, 2, 1]),
        images=images,
    )


def classification_dataset(root: Path, size: int = 32, train: int = 8, val: int = 4) -> Manifest:
    """scikit-learn digits 0, 1 and 2, upscaled to `size` px grey PNGs."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = []
    for c, idx in digits_by_class((0, 1, 2), train + val).items():
        for n, i in enumerate(idx):
            split = "train" if n < train else "val"
            pixels = (digits.images[i] * (255 / 16)).astype(np.uint8)
            img = Image.fromarray(pixels, mode="L").resize((size, size), Image.Resampling.NEAREST)
            images.append(_entry(root, f"{split}/digit_{c}/{i}.png", split, img, label=c))
    return Manifest(
        task_type="image_classification",
        source_format="imagefolder",
        classes=["zero", "one", "two"],
        images=images,
    )
