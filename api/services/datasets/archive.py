"""Unpacking uploads safely: zip, tar, tar.gz, streamed entry by entry to disk.

Refused before anything is kept: entries with absolute paths, `..` segments, links or
devices; archives whose entries, total size or compression ratio exceed the limits
(decompression bombs). Sizes are counted on the bytes actually written, never on what
the archive header claims.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from api.errors import BadRequest, PayloadTooLarge

_CHUNK = 1024 * 1024
# Written by operating systems and archivers, never part of a dataset.
_JUNK_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
_JUNK_DIRS = {"__MACOSX", ".git", ".ipynb_checkpoints"}


class ArchiveTooLarge(PayloadTooLarge):
    code = "archive_too_large"


@dataclass(frozen=True)
class Limits:
    max_total_bytes: int
    max_entries: int
    max_ratio: float  # uncompressed bytes per compressed byte, over the whole archive


def archive_kind(filename: str) -> str | None:
    """ "zip", "tar" or None, from the file name."""
    name = filename.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")):
        return "tar"
    return None


def safe_relative_path(name: str) -> str | None:
    """The entry's path as a clean relative POSIX path; None for junk to skip.

    BadRequest for a path that would escape the destination.
    """
    raw = name.replace("\\", "/")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise BadRequest(f"Archive entry has an absolute path: {name!r}", code="unsafe_archive")
    parts = [p for p in PurePosixPath(raw).parts if p not in ("", ".")]
    if ".." in parts:
        raise BadRequest(f"Archive entry leaves its folder: {name!r}", code="unsafe_archive")
    if any(ord(c) < 32 for c in raw):
        raise BadRequest(
            f"Archive entry name has control characters: {name!r}", code="unsafe_archive"
        )
    if not parts or parts[-1] in _JUNK_NAMES or parts[-1].startswith("._"):
        return None
    if any(p in _JUNK_DIRS for p in parts):
        return None
    return "/".join(parts)


class _Budget:
    """Counts entries and bytes as they are written; raises the moment a limit is passed."""

    def __init__(self, limits: Limits, compressed_size: int) -> None:
        self.limits = limits
        self.entries = 0
        self.total = 0
        # The ratio is checked against the whole archive: small files compress unevenly.
        self.max_by_ratio = max(compressed_size, 1) * limits.max_ratio

    def entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise ArchiveTooLarge(f"The archive has more than {self.limits.max_entries} files")

    def add(self, n: int) -> None:
        self.total += n
        if self.total > self.limits.max_total_bytes:
            raise ArchiveTooLarge(
                f"The archive unpacks to more than {self.limits.max_total_bytes // 2**20} MiB"
            )
        if self.total > self.max_by_ratio and self.total > 64 * _CHUNK:
            raise ArchiveTooLarge(
                f"The archive expands more than {self.limits.max_ratio:g} times its size: "
                "refused as a decompression bomb"
            )


def _copy(src: IO[bytes], dest: Path, budget: _Budget) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "xb") as out:  # "x": a duplicate entry name cannot overwrite a file
        while chunk := src.read(_CHUNK):
            budget.add(len(chunk))
            out.write(chunk)


def _zip_entries(path: Path) -> Iterator[tuple[str, IO[bytes] | None]]:
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise BadRequest(
                    f"Archive entry is a link: {info.filename!r}", code="unsafe_archive"
                )
            if info.is_dir():
                yield info.filename, None
                continue
            with zf.open(info) as f:
                yield info.filename, f


def _tar_entries(path: Path) -> Iterator[tuple[str, IO[bytes] | None]]:
    # "r|*": a stream, read once front to back, whatever the compression.
    with tarfile.open(path, "r|*") as tf:
        for member in tf:
            if member.issym() or member.islnk():
                raise BadRequest(f"Archive entry is a link: {member.name!r}", code="unsafe_archive")
            if member.isdir():
                yield member.name, None
                continue
            if not member.isfile():
                raise BadRequest(
                    f"Archive entry is not a regular file: {member.name!r}", code="unsafe_archive"
                )
            f = tf.extractfile(member)
            yield member.name, f


def extract(archive: Path, filename: str, dest: Path, limits: Limits) -> list[str]:
    """Unpack `archive` (named `filename`, which tells its kind) into `dest`.

    Returns the relative paths written. BadRequest for an unsafe or unreadable archive,
    ArchiveTooLarge (413) past a limit; `dest` is emptied again in both cases.
    """
    kind = archive_kind(filename)
    if kind is None:
        raise BadRequest(
            f"{filename!r} is not a supported archive (.zip, .tar, .tar.gz, .tgz)",
            code="unsupported_archive",
        )
    budget = _Budget(limits, archive.stat().st_size)
    entries = _zip_entries(archive) if kind == "zip" else _tar_entries(archive)
    written: list[str] = []
    try:
        for name, stream in entries:
            rel = safe_relative_path(name)
            if stream is None or rel is None:
                continue
            budget.entry()
            try:
                _copy(stream, dest / rel, budget)
            except FileExistsError:
                raise BadRequest(f"Archive has {rel!r} twice", code="unsafe_archive") from None
            written.append(rel)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        # OSError here: a file and a folder of the same name, a truncated stream.
        _empty(dest)
        raise BadRequest(f"Could not unpack {filename!r}: {exc}", code="bad_archive") from None
    except BaseException:
        _empty(dest)
        raise
    return written


def _empty(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
