"""Files users send: a storage-safe name for each, and saving one to disk under a limit.
Datasets, pretrained weights and inference images all arrive this way."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import BinaryIO

from api.errors import PayloadTooLarge

MiB = 1024 * 1024


def safe_name(filename: str, default: str = "upload") -> str:
    """The file's own name (no folders), with anything but letters, digits, `.`, `_` and
    `-` replaced: safe as the last segment of a storage key."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or default


def save_stream(stream: BinaryIO, dest: Path, max_bytes: int) -> int:
    """Copy `stream` to the file `dest` a MiB at a time; its size. PayloadTooLarge (413)
    as soon as it passes `max_bytes` (the caller removes what was written)."""
    written = 0
    with open(dest, "wb") as out:
        while chunk := stream.read(MiB):
            written += len(chunk)
            if written > max_bytes:
                raise PayloadTooLarge(
                    f"The upload is larger than {max_bytes // MiB} MiB", code="upload_too_large"
                )
            out.write(chunk)
    return written
