"""scikit-learn's handwritten digits (1797 labelled 8x8 images, ten classes) as a real
classification dataset: RGB PNGs upscaled to `size` pixels, a deterministic stratified
train/val split (every fifth image of a class is val), as files with a manifest or as an
ImageFolder zip to upload through the API.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from contract.manifest import ImageEntry, Manifest

CLASSES = [f"digit_{c}" for c in range(10)]
VAL_EVERY = 5  # the 5th, 10th, ... image of each class is val: a 80/20 stratified split


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images, d.target


@lru_cache(maxsize=8)
def _rendered(per_class: int | None, size: int) -> tuple[tuple[str, str, int, bytes], ...]:
    """(split, relative path, class id, PNG bytes) of every chosen digit, in a fixed order."""
    images, target = _digits()
    out = []
    for c in range(len(CLASSES)):
        indices = np.flatnonzero(target == c)
        if per_class is not None:
            indices = indices[:per_class]
        for n, i in enumerate(indices):
            split = "val" if n % VAL_EVERY == VAL_EVERY - 1 else "train"
            gray = Image.fromarray((images[i] * (255 / 16)).astype(np.uint8))
            rgb = gray.resize((size, size), Image.Resampling.BILINEAR).convert("RGB")
            buf = io.BytesIO()
            rgb.save(buf, format="PNG")
            out.append((split, f"{split}/{CLASSES[c]}/{i:04d}.png", c, buf.getvalue()))
    return tuple(out)


def digits_dataset(folder: Path, per_class: int | None = None, size: int = 32) -> Manifest:
    """Write the digits (all, or the first `per_class` of each class) as PNGs under
    `folder` and return their manifest (paths relative to `folder`)."""
    entries = []
    for split, rel, label, data in _rendered(per_class, size):
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        entries.append(
            ImageEntry(
                path=rel,
                split=split,  # type: ignore[arg-type]
                width=size,
                height=size,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                label=label,
            )
        )
    return Manifest(
        task_type="image_classification",
        source_format="imagefolder",
        classes=list(CLASSES),
        images=entries,
    )


def digits_imagefolder_zip(per_class: int | None = None, size: int = 32) -> bytes:
    """The same digits as a zip of an ImageFolder tree: train/<class>/x.png, val/<class>/x.png."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for _, rel, _, data in _rendered(per_class, size):
            zf.writestr(rel, data)
    return buf.getvalue()
