"""Decoding every image of an upload: size, bytes, sha256, or why it is unreadable; and,
from the same decode, its thumbnail."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from api.services.datasets import thumbnails
from api.services.datasets.problems import Problems
from api.services.threads import in_threads

_MAX_THREADS = 4

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    size: int
    sha256: str
    thumbnail: Path | None = None  # the JPEG thumbnail written from this decode, if asked


def is_image_name(path: str) -> bool:
    # os.path, not Path: asked of every file of an upload, and a Path costs 10x more.
    return os.path.splitext(path)[1].lower() in IMAGE_SUFFIXES


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
        with Image.open(path) as img:
            width, height = img.size
            _refuse_bomb(width, height)
            if width * height > max_pixels:
                raise ValueError(f"{width}x{height} is over the limit of {max_pixels} pixels")
            thumb_size = None
            if thumbnail is not None and width > 0 and height > 0:
                thumb_size = thumbnails.draft(img)  # the checks below hold as in a full decode
            img.load()  # decodes every byte: catches truncation and corruption
            if thumb_size is not None:
                thumb = _thumbnail_of(img, thumb_size)
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


def _refuse_bomb(width: int, height: int) -> None:
    """Refuse what Pillow only warns of (DecompressionBombWarning), in its own words.

    Checked here rather than by turning the warning into an error with
    warnings.catch_warnings: that swaps the process-wide filters, so images decoded in
    several threads at once (scan_images, concurrent requests) would undo each other's.
    """
    limit = Image.MAX_IMAGE_PIXELS
    pixels = max(1, width) * max(1, height)
    if limit is not None and pixels > limit:
        raise ValueError(
            f"image too large: Image size ({pixels} pixels) exceeds limit of {limit} pixels, "
            "could be decompression bomb DOS attack."
        )


def _thumbnail_of(img: Image.Image, size: tuple[int, int]) -> bytes:
    try:
        return thumbnails.encode(img, size)
    except (ValueError, OSError) as exc:
        # Every trainer reads images as RGB: one that has no RGB rendering cannot train.
        raise ValueError(f"decodes, but has no RGB rendering: {exc}") from None


def decode_threads() -> int:
    """How many images are decoded at once: one per CPU this process may use, at most
    _MAX_THREADS. Pillow lets go of the GIL while it decodes, resizes and encodes, and
    hashlib while it hashes, so threads use every core without a process's start-up
    and pickling; the cap bounds memory, each thread holding one decoded image (up to
    the pixel limit) at a time."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(_MAX_THREADS, cpus))


def scan_images(
    root: Path,
    files: list[str],
    problems: Problems,
    max_pixels: int,
    thumbnails_dir: Path | None = None,
) -> dict[str, ImageInfo]:
    """Every file with an image suffix, decoded (several at once); the ones that fail go
    to `problems`, in the order of `files`. With `thumbnails_dir`, each decoded image's
    thumbnail is written there."""
    if thumbnails_dir is not None:
        thumbnails_dir.mkdir(parents=True, exist_ok=True)
    # Numbered, not named after the image: its name may be too long with a suffix.
    jobs = [
        (rel, thumbnails_dir / f"{n}.jpg" if thumbnails_dir is not None else None)
        for n, rel in enumerate(files)
        if is_image_name(rel)
    ]

    def inspect(job: tuple[str, Path | None]) -> ImageInfo | str:
        rel, thumbnail = job
        try:
            return inspect_image(root / rel, max_pixels, thumbnail)
        except ValueError as exc:
            return str(exc)

    outcomes = in_threads(inspect, jobs, decode_threads())
    found: dict[str, ImageInfo] = {}
    # In the order of `jobs`: problems are listed as a serial scan would.
    for (rel, _), outcome in zip(jobs, outcomes, strict=True):
        if isinstance(outcome, str):
            problems.add(rel, outcome, code="bad_image")
        else:
            found[rel] = outcome
    return found
