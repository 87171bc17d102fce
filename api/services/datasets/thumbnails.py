"""Thumbnails of a dataset's images, so that a gallery never loads the originals.

Made at ingest from the decode that validates each image (never a second decode) and
stored as JPEG under `datasets/{id}/thumbnails/{sha256}.jpg`: keyed by content, so a key
is never too long for storage whatever the image's path, and identical images share one.
`datasets/{id}/thumbnails.json`, written after the last of them, says that a dataset has
them all. Datasets ingested before thumbnails existed have no such marker: theirs are
made the first time a page of the gallery shows them (`ensure`).

A thumbnail keeps the stored image's pixels as they are (no EXIF rotation applied): the
manifest's coordinates are in those pixels, so overlays drawn on a thumbnail line up.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import structlog
from PIL import Image

from api.services.storage import Storage, StorageError
from contract.manifest import ImageEntry

log = structlog.get_logger("api.datasets")

MAX_SIDE = 128  # pixels, the longer side; smaller images keep their size
QUALITY = 80
CONTENT_TYPE = "image/jpeg"
_MARKER = "thumbnails.json"
_THREADS = 8  # storage round trips of the thumbnails made on first view, at once
_HIGH_DEPTH = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_KNOWN_COMPLETE_MAX = 10_000

# Dataset prefixes whose marker was seen: asked once per process, never again.
_known_complete: set[str] = set()
_known_lock = threading.Lock()


def key(prefix: str, sha256: str) -> str:
    """The storage key of the thumbnail of an image with this sha256 in a dataset."""
    return f"{prefix}thumbnails/{sha256}.jpg"


def marker_key(prefix: str) -> str:
    return f"{prefix}{_MARKER}"


def marker() -> bytes:
    """What the marker holds: how the dataset's thumbnails were made."""
    return json.dumps({"max_side": MAX_SIDE, "format": "jpeg"}).encode()


def size_for(width: int, height: int) -> tuple[int, int]:
    """The size of the thumbnail of an image of this size: at most MAX_SIDE a side, the
    same aspect ratio, never enlarged."""
    scale = min(1.0, MAX_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def draft(img: Image.Image) -> tuple[int, int]:
    """Ask a JPEG not yet loaded to decode at the smallest DCT scale (1/2, 1/4, 1/8) that
    still holds its thumbnail, and return the thumbnail's size (pass it to `encode`).

    Every byte is still entropy-decoded, so truncation and corruption fail as in a full
    decode, but the pixels cost a fraction and the resize starts from at most twice the
    thumbnail's size. `img.size` becomes the reduced size: read the stored size before.
    Other formats are left as they are. Ingest and `ensure` both draft, so that a
    thumbnail made on first view is the same JPEG as one made at ingest."""
    size = size_for(*img.size)
    if img.format == "JPEG":
        img.draft(img.mode, size)
    return size


def encode(img: Image.Image, size: tuple[int, int] | None = None) -> bytes:
    """A JPEG of a decoded image, at most MAX_SIDE pixels a side, of the same aspect
    ratio; `img` itself is left as it was. Palettes are expanded, transparency is laid
    on white, 16-bit and float pixels are stretched to 8 bits between their extremes.
    `size` is the thumbnail's size when `img` was drafted smaller than the stored image
    (`size_for` of the stored size), so that drafting never changes it by rounding.

    ValueError for a mode that has no RGB rendering.
    """
    img = _displayable(img)
    if size is None:
        size = size_for(*img.size)
    if size != img.size:
        # Averaged down by the largest whole factor first (reduce(): cheap), then a
        # bilinear resample of less than 2x: 40% less CPU than reducing_gap=2 on photos.
        img = img.resize(size, Image.Resampling.BILINEAR, reducing_gap=1.0)
    if img.mode == "RGBA":
        flat = Image.new("RGB", img.size, (255, 255, 255))
        flat.paste(img, mask=img.getchannel("A"))
        img = flat
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=QUALITY)
    return out.getvalue()


def _displayable(img: Image.Image) -> Image.Image:
    """`img` as RGB, L or RGBA (which JPEG gets flattened from)."""
    mode = img.mode
    if mode in ("RGB", "L", "RGBA"):
        return img
    if mode in _HIGH_DEPTH:
        wide = img.convert("I") if mode.startswith("I;16") else img
        extrema = wide.getextrema()  # one band: (min, max)
        low, high = float(extrema[0]), float(extrema[1])  # type: ignore[arg-type]
        scale = 255.0 / (high - low) if high > low else 0.0
        return wide.point(lambda v: (v - low) * scale).convert("L")
    if mode == "1":
        return img.convert("L")
    if mode in ("LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in img.info):
        return img.convert("RGBA")
    return img.convert("RGB")


def ensure(storage: Storage, prefix: str, images: Iterable[ImageEntry]) -> None:
    """Make the missing thumbnails of `images` (of the dataset stored under `prefix`):
    none are missing once the dataset's marker is there. One that cannot be made
    (its original gone from storage) is logged and left missing: its URL answers 404."""
    if _complete(storage, prefix):
        return
    by_key = {key(prefix, image.sha256): image for image in images}
    if not by_key:
        return
    with ThreadPoolExecutor(min(_THREADS, len(by_key))) as pool:
        for future in [pool.submit(_make, storage, prefix, k, i) for k, i in by_key.items()]:
            future.result()


def _complete(storage: Storage, prefix: str) -> bool:
    with _known_lock:
        if prefix in _known_complete:
            return True
    if not storage.exists(marker_key(prefix)):
        return False
    with _known_lock:
        if len(_known_complete) >= _KNOWN_COMPLETE_MAX:
            _known_complete.clear()
        _known_complete.add(prefix)
    return True


def _make(storage: Storage, prefix: str, thumb_key: str, image: ImageEntry) -> None:
    try:
        if storage.exists(thumb_key):
            return
        data = storage.get_bytes(f"{prefix}files/{image.path}")
        with Image.open(io.BytesIO(data)) as img:
            size = draft(img)
            img.load()  # decoded at ingest already: within the pixel limit
            thumbnail = encode(img, size)
        storage.put_bytes(thumb_key, thumbnail, CONTENT_TYPE)
    except (StorageError, OSError, ValueError) as exc:
        log.warning("thumbnail_not_made", key=thumb_key, error=f"{type(exc).__name__}: {exc}")
