"""Files users send: a storage-safe name for each, and saving one to disk under a limit.
Datasets, pretrained weights and inference images all arrive this way."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import BinaryIO

from api.errors import PayloadTooLarge

MiB = 1024 * 1024
MAX_NAME_BYTES = 200  # under the 255 bytes a filesystem allows for one name, with room


def safe_name(filename: str, default: str = "upload") -> str:
    """The file's own name (no folders), with anything but letters, digits, `.`, `_` and
    `-` replaced, and at most MAX_NAME_BYTES long in UTF-8 (a longer name loses the end
    of its stem, keeping its suffixes: `.tar.gz` stays): safe as the last segment of a
    storage key and as a file name on disk."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or default
    if len(name.encode("utf-8", "surrogatepass")) <= MAX_NAME_BYTES:
        return name
    suffix = "".join(PurePosixPath(name).suffixes[-2:])[-20:]
    stem = name[: len(name) - len(suffix)]
    while len((stem + suffix).encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        stem = stem[: -max(1, (len(stem) // 8))]
    return stem + suffix


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
