"""Decoding every image of an upload: size, bytes, sha256, or why it is unreadable; and,
from the same decode, its thumbnail."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from api.services.datasets import thumbnails
from api.services.datasets.problems import Problems

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    size: int
    sha256: str
    thumbnail: Path | None = None  # the JPEG thumbnail written from this decode, if asked


def is_image_name(path: str) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def inspect_image(path: Path, max_pixels: int, thumbnail: Path | None = None) -> ImageInfo:
    """Decode the whole image (a truncated file fails here, not in training); with
    `thumbnail`, write its thumbnail there from the same decode.

    ValueError saying why when it cannot be used.
    """
    thumb: bytes | None = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise ValueError(f"{width}x{height} is over the limit of {max_pixels} pixels")
                img.load()  # decodes every byte: catches truncation and corruption
                if thumbnail is not None and width > 0 and height > 0:
                    thumb = _thumbnail_of(img)
    except UnidentifiedImageError:
        raise ValueError("not an image Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValueError(f"image too large: {exc}") from None
    except ValueError:
        raise
    except Exception as exc:
        # Pillow reports truncation as OSError, and its decoders raise what they like
        # (struct.error, IndexError, SyntaxError) on malformed bytes; plugins that
        # patch Image.open (Ultralytics does, for HEIF) add their own.
        raise ValueError(f"corrupt or truncated image: {type(exc).__name__}: {exc}") from None
    if width < 1 or height < 1:
        raise ValueError("image has no pixels")
    if thumbnail is not None and thumb is not None:
        thumbnail.write_bytes(thumb)
    return ImageInfo(width, height, path.stat().st_size, _sha256(path), thumbnail)


def _thumbnail_of(img: Image.Image) -> bytes:
    try:
        return thumbnails.encode(img)
    except (ValueError, OSError) as exc:
        # Every trainer reads images as RGB: one that has no RGB rendering cannot train.
        raise ValueError(f"decodes, but has no RGB rendering: {exc}") from None


def scan_images(
    root: Path,
    files: list[str],
    problems: Problems,
    max_pixels: int,
    thumbnails_dir: Path | None = None,
) -> dict[str, ImageInfo]:
    """Every file with an image suffix, decoded; the ones that fail go to `problems`.
    With `thumbnails_dir`, each decoded image's thumbnail is written there."""
    found: dict[str, ImageInfo] = {}
    if thumbnails_dir is not None:
        thumbnails_dir.mkdir(parents=True, exist_ok=True)
    for n, rel in enumerate(files):
        if not is_image_name(rel):
            continue
        # Numbered, not named after the image: its name may be too long with a suffix.
        thumbnail = thumbnails_dir / f"{n}.jpg" if thumbnails_dir is not None else None
        try:
            found[rel] = inspect_image(root / rel, max_pixels, thumbnail)
        except ValueError as exc:
            problems.add(rel, str(exc), code="bad_image")
    return found
