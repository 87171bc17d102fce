"""Unpacking uploads safely: zip, tar, tar.gz, streamed entry by entry to disk.

Refused before anything is kept: entries with absolute paths, `..` segments, links or
devices, names no filesystem can hold, names that collide (upload_paths.py checks each
before its bytes are written); archives whose entries, total size or compression ratio
exceed the limits (decompression bombs). Sizes are counted on the bytes actually
written, never on what the archive header claims; a tar stream's bytes are counted as
they are decompressed, headers included (tarfile reads a header whole, and one may
declare a name of a gigabyte).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from api.errors import BadRequest, PayloadTooLarge
from api.services.datasets.problems import quote
from api.services.datasets.upload_paths import UploadPaths, safe_relative_path

_CHUNK = 1024 * 1024


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


class _Budget:
    """Counts entries and bytes as they are written; raises the moment a limit is passed."""

    def __init__(self, limits: Limits, compressed_size: int) -> None:
        self.limits = limits
        self.entries = 0
        self.total = 0
        self.streamed = 0
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

    def stream(self, n: int) -> None:
        """Count n decompressed bytes of a tar stream, headers included: beyond what
        `add` allows the files, headers may add a few KiB a file, no more. (Files' bytes
        are read just before they are written: past the limits, `add` says so first.)"""
        self.streamed += n
        most = min(self.limits.max_total_bytes, max(self.max_by_ratio, 64 * _CHUNK))
        if self.streamed > most + 4096 * (self.entries + 1) + 64 * 1024:
            raise ArchiveTooLarge(
                "The archive's headers expand beyond its limits: refused as a decompression bomb"
            )


class _CountedStream:
    """A decompressed tar stream whose every byte is counted by the budget as it is read,
    a MiB at a time whatever size is asked for."""

    def __init__(self, raw: io.BufferedIOBase, budget: _Budget) -> None:
        self.raw = raw
        self.budget = budget

    def read(self, size: int = -1) -> bytes:
        parts = []
        left = size if size >= 0 else None
        while left is None or left > 0:
            chunk = self.raw.read(_CHUNK if left is None else min(_CHUNK, left))
            if not chunk:
                break
            self.budget.stream(len(chunk))
            parts.append(chunk)
            if left is not None:
                left -= len(chunk)
        return b"".join(parts)


def _decompressed(path: Path) -> io.BufferedIOBase:
    """The file at `path` as a stream, gunzipped, bunzipped or unxz'ed by its magic."""
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.open(path, "rb")
    if magic.startswith(b"BZh"):
        return bz2.open(path, "rb")
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lzma.open(path, "rb")
    return open(path, "rb")  # noqa: SIM115 - closed by _tar_entries


def _copy(src: IO[bytes], dest: Path, budget: _Budget) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "xb") as out:  # "x": never over a file (UploadPaths refused that)
        while chunk := src.read(_CHUNK):
            budget.add(len(chunk))
            out.write(chunk)


def _zip_entries(path: Path) -> Iterator[tuple[str, IO[bytes] | None]]:
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise BadRequest(
                    f"Archive entry {quote(info.filename)} is a link", code="unsafe_archive"
                )
            if info.is_dir():
                yield info.filename, None
                continue
            if info.flag_bits & 0x1:
                raise BadRequest(
                    f"Archive entry {quote(info.filename)} is encrypted", code="bad_archive"
                )
            try:
                entry = zf.open(info)
            except NotImplementedError:  # a compression method zipfile cannot read
                raise BadRequest(
                    f"Archive entry {quote(info.filename)} is compressed with a method that "
                    "cannot be read (use deflate)",
                    code="bad_archive",
                ) from None
            with entry as f:
                yield info.filename, f


def _tar_entries(path: Path, budget: _Budget) -> Iterator[tuple[str, IO[bytes] | None]]:
    # "r|": a stream, read once front to back; its bytes counted as they are decompressed.
    with (
        _decompressed(path) as raw,
        tarfile.open(fileobj=_CountedStream(raw, budget), mode="r|") as tf,  # type: ignore[call-overload]
    ):
        for member in tf:
            if member.issym() or member.islnk():
                raise BadRequest(
                    f"Archive entry {quote(member.name)} is a link", code="unsafe_archive"
                )
            if member.isdir():
                yield member.name, None
                continue
            if not member.isfile():
                raise BadRequest(
                    f"Archive entry {quote(member.name)} is not a regular file",
                    code="unsafe_archive",
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
            f"{quote(filename)} is not a supported archive (.zip, .tar, .tar.gz, .tgz)",
            code="unsupported_archive",
        )
    budget = _Budget(limits, archive.stat().st_size)
    entries = _zip_entries(archive) if kind == "zip" else _tar_entries(archive, budget)
    written: list[str] = []
    paths = UploadPaths()
    try:
        for name, stream in entries:
            if stream is None:  # a folder entry: checked, but only files are written
                safe_relative_path(name)
                continue
            rel = paths.admit(name)
            if rel is None:
                continue
            budget.entry()
            _copy(stream, dest / rel, budget)
            written.append(rel)
    except (
        zipfile.BadZipFile,
        tarfile.TarError,
        EOFError,
        zlib.error,
        lzma.LZMAError,
        OSError,
    ) as exc:
        # OSError here: a truncated stream, a full disk.
        _empty(dest)
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BadRequest(
            f"Could not unpack {quote(filename)}: {why[:200]}", code="bad_archive"
        ) from None
    except BaseException:
        _empty(dest)
        raise
    return written


def _empty(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
