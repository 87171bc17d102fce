"""scikit-learn's handwritten digits (1797 labelled 8x8 images, ten classes) as a real
image-classification dataset: RGB PNGs upscaled to `size` pixels in an ImageFolder zip
with a stratified train/val split (every fifth image of a class is val), and a few
images of each class held out of it to call the deployed model with.

Needs numpy, Pillow and scikit-learn (the `worker` extra), imported when called.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

CLASSES = [f"digit_{c}" for c in range(10)]
VAL_EVERY = 5  # the 5th, 10th, ... image of each class is val: a 80/20 stratified split
HELD_OUT_PER_CLASS = 1  # the last image of each class never reaches the platform


@dataclass
class Digits:
    archive: bytes  # the ImageFolder zip: train/<class>/<n>.png, val/<class>/<n>.png
    num_images: int
    held_out: list[tuple[str, bytes]]  # (class name, PNG bytes), one per class


def build(per_class: int | None = None, size: int = 32) -> Digits:
    """The digits (the first `per_class` of each class, or all) as an ImageFolder zip,
    and the held-out images."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    d = load_digits()
    buf = io.BytesIO()
    count = 0
    held_out = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for c, name in enumerate(CLASSES):
            indices = np.flatnonzero(d.target == c)
            *kept, last = indices[: (per_class or len(indices)) + HELD_OUT_PER_CLASS]
            for n, i in enumerate(kept):
                split = "val" if n % VAL_EVERY == VAL_EVERY - 1 else "train"
                zf.writestr(f"{split}/{name}/{i:04d}.png", _png(d.images[i], size, np, Image))
                count += 1
            held_out.append((name, _png(d.images[last], size, np, Image)))
    return Digits(archive=buf.getvalue(), num_images=count, held_out=held_out)


def _png(pixels, size: int, np, Image) -> bytes:  # type: ignore[no-untyped-def]
    gray = Image.fromarray((pixels * (255 / 16)).astype(np.uint8))
    rgb = gray.resize((size, size), Image.Resampling.BILINEAR).convert("RGB")
    out = io.BytesIO()
    rgb.save(out, format="PNG")
    return out.getvalue()
