"""The embedded default: objects are files under one folder, served by the API itself.

Object `a/b.txt` is the file `{root}/a/b.txt`. Every write goes to a temp file in the
target's folder and is renamed over it, so a reader sees the old object or the new
one, whole, never a partial file. Multipart uploads keep their parts under
`{root}/.multipart/{upload_id}/` until completed.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import hashlib
import os
import re
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from api.services.storage import signing
from api.services.storage.base import (
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    Storage,
    StorageError,
    sorted_parts,
    validate_key,
    validate_part_number,
    validate_prefix,
)
from api.settings import Settings

_MULTIPART_DIR = ".multipart"
_TMP_PREFIX = ".vaptmp-"  # temp files; never listed, never valid as a key's name
_CHUNK = 1024 * 1024
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")


class UnknownUpload(StorageError):
    """No pending multipart upload with that id for that key (never begun, or finished)."""


class AtomicWriter:
    """A temp file beside `dest` that becomes `dest` on commit and vanishes on discard.

    It hashes what it is given, so commit can return the MD5 ETag S3 would.
    """

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self._md5 = hashlib.md5(usedforsecurity=False)
        # A concurrent delete may prune the (empty) folder between mkdir and mkstemp.
        for attempt in range(3):
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=dest.parent)
                break
            except FileNotFoundError:
                if attempt == 2:
                    raise
        self._tmp = Path(tmp)
        self._file = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._md5.update(data)

    def copy_from(self, src: BinaryIO) -> None:
        while chunk := src.read(_CHUNK):
            self.write(chunk)

    def commit(self) -> str:
        """Put the file in place; return its ETag (hex MD5)."""
        self._file.flush()
        # Without fsync a crash after the rename can leave an empty file under the name.
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._tmp, self.dest)
        return self._md5.hexdigest()

    def discard(self) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


@contextlib.contextmanager
def _os_errors(what: str) -> Iterator[None]:
    # Disk full, permissions, a file where a folder should be: the caller sees StorageError.
    try:
        yield
    except StorageError:
        raise
    except OSError as exc:
        raise StorageError(f"Local storage could not {what}: {exc.strerror or exc}") from exc


class LocalStorage(Storage):
    """Objects as files under `settings.storage_local_root`; URLs signed with the secret key."""

    def __init__(self, settings: Settings) -> None:
        assert settings.storage_local_root is not None  # filled in by Settings
        self.settings = settings
        self.root = Path(settings.storage_local_root).resolve()

    # --- paths -------------------------------------------------------------------------

    def path(self, key: str) -> Path:
        """The file for `key`, verified to lie under the root; InvalidKey otherwise."""
        _validate(key)
        path = (self.root / key).resolve()
        # Defence in depth: validation already bars '..', but a symlink could still lead out.
        if not path.is_relative_to(self.root) or path == self.root:
            raise InvalidKey(f"Key resolves outside the storage root: {key!r}")
        return path

    def _upload_dir(self, upload_id: str) -> Path:
        if not _UPLOAD_ID.fullmatch(upload_id):  # anything but ours could walk the tree
            raise UnknownUpload(f"Unknown multipart upload {upload_id!r}")
        return self.root / _MULTIPART_DIR / upload_id

    def _existing_upload(self, key: str, upload_id: str) -> Path:
        folder = self._upload_dir(upload_id)
        try:
            recorded = (folder / "key").read_text()
        except FileNotFoundError:
            recorded = None
        if recorded != key:
            raise UnknownUpload(f"Unknown multipart upload {upload_id!r} for key {key!r}")
        return folder

    def _prune_empty_dirs(self, folder: Path) -> None:
        # Leave no empty folder trees behind deleted objects; stop at the first non-empty.
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def open_write(self, key: str) -> AtomicWriter:
        """An AtomicWriter for `key` (used by the upload route to stream request bodies)."""
        path = self.path(key)
        with _os_errors(f"write {key!r}"):
            return AtomicWriter(path)

    # --- objects -----------------------------------------------------------------------

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        # content_type is not kept: the local backend serves a type guessed from the name.
        with self.open_write(key) as out, _os_errors(f"write {key!r}"):
            out.write(data)

    def put_file(
        self, key: str, src: str | Path | BinaryIO, content_type: str | None = None
    ) -> None:
        with self.open_write(key) as out, _os_errors(f"write {key!r}"):
            if isinstance(src, str | Path):
                with open(src, "rb") as f:
                    out.copy_from(f)
            else:
                out.copy_from(src)

    def put_files(self, items: Iterable[tuple[str, Path, str | None]], threads: int = 8) -> None:
        """Each file hard-linked into place where it lies on the storage's file system (no
        byte copied, as `copy` stores), else copied; no fsync each, but the file system
        synced once at the end. A dataset's thousands of small files each paid a resolve
        of its whole path, a temp file, a byte copy with its MD5 and a journal commit: most
        of the ingest's time. Until the sync a crash may leave some of them empty, which is
        why callers write what says "complete" (a manifest) after.

        In this thread, `threads` unused: a link is a system call of microseconds, and
        threads handing the GIL to each other per file made 2,000 of them take 0.35 s
        against 0.2 s in one thread."""
        folders: dict[Path, Path] = {}  # each target folder: made and resolved once

        def target(key: str) -> Path:
            _validate(key)
            folder = (self.root / key).parent
            resolved = folders.get(folder)
            if resolved is None:
                folder.mkdir(parents=True, exist_ok=True)
                resolved = folders[folder] = folder.resolve()
                # Defence in depth, as in `path` (the last name needs no check: os.replace
                # replaces a link there, it does not follow it).
                if not resolved.is_relative_to(self.root):
                    raise InvalidKey(f"Key resolves outside the storage root: {key!r}")
            return resolved / key.rsplit("/", 1)[-1]

        for key, src, _ in items:
            with _os_errors(f"write {key!r}"):
                _link_into_place(src, target(key))
        with _os_errors("sync"):
            _sync_file_system(self.root)

    def get_bytes(self, key: str) -> bytes:
        with self.open_read(key) as f, _os_errors(f"read {key!r}"):
            return f.read()

    def open_read(self, key: str) -> BinaryIO:
        path = self.path(key)
        with _os_errors(f"read {key!r}"):
            try:
                return open(path, "rb")
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                raise ObjectNotFound(key) from None

    def download_file(self, key: str, dest: str | Path) -> None:
        dest = Path(dest)
        with self.open_read(key) as src, _os_errors(f"download {key!r}"), AtomicWriter(dest) as out:
            out.copy_from(src)

    def copy(self, src: str, dest: str) -> None:
        """A hard link under a temporary name, renamed into place: no byte is copied. Safe
        because no object file is ever changed in place (writes replace the name)."""
        source, target = self.path(src), self.path(dest)
        if not source.is_file():
            raise ObjectNotFound(src)
        with _os_errors(f"copy {src!r}"):
            target.parent.mkdir(parents=True, exist_ok=True)
            _link_into_place(source, target)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def stat(self, key: str) -> ObjectInfo:
        path = self.path(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        with _os_errors(f"stat {key!r}"):
            return ObjectInfo(key=key, size=path.stat().st_size)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        validate_prefix(prefix)
        # Walk only the deepest folder the prefix names; match the rest by string, as S3 does.
        folder, _, _ = prefix.rpartition("/")
        start = self.root / folder if folder else self.root
        found: builtins.list[ObjectInfo] = []
        with _os_errors(f"list {prefix!r}"):
            for dirpath, dirnames, filenames in os.walk(start):
                here = Path(dirpath)
                if here == self.root:
                    dirnames[:] = [d for d in dirnames if d != _MULTIPART_DIR]
                rel = here.relative_to(self.root).as_posix()
                for name in filenames:
                    if name.startswith(_TMP_PREFIX):
                        continue
                    key = name if rel == "." else f"{rel}/{name}"
                    if key.startswith(prefix):
                        try:
                            size = (here / name).stat().st_size
                        except FileNotFoundError:  # deleted while we walked
                            continue
                        found.append(ObjectInfo(key=key, size=size))
        # str order is code-point order, which is S3's UTF-8 byte order
        yield from sorted(found, key=lambda info: info.key)

    def delete(self, key: str) -> None:
        path = self.path(key)
        with _os_errors(f"delete {key!r}"):
            try:
                path.unlink()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                return
            self._prune_empty_dirs(path.parent)

    def delete_prefix(self, prefix: str) -> int:
        if not prefix:
            raise InvalidKey("delete_prefix needs a non-empty prefix")
        count = 0
        for info in list(self.list(prefix)):
            self.delete(info.key)
            count += 1
        return count

    # --- signed URLs -------------------------------------------------------------------

    def _expiry(self, expires_in: int | None) -> int:
        return expires_in if expires_in is not None else self.settings.signed_url_expire_seconds

    def presign_get(
        self, key: str, expires_in: int | None = None, filename: str | None = None
    ) -> str:
        self.path(key)
        return signing.file_url(
            self.settings, "get", key, self._expiry(expires_in), {"filename": filename}
        )

    def presign_put(
        self, key: str, expires_in: int | None = None, content_type: str | None = None
    ) -> str:
        self.path(key)
        return signing.file_url(
            self.settings, "put", key, self._expiry(expires_in), {"content_type": content_type}
        )

    # --- multipart ---------------------------------------------------------------------

    def create_multipart_upload(self, key: str, content_type: str | None = None) -> str:
        self.path(key)
        upload_id = secrets.token_hex(16)
        folder = self._upload_dir(upload_id)
        with _os_errors(f"start an upload to {key!r}"):
            folder.mkdir(parents=True)
            (folder / "key").write_text(key)
        return upload_id

    def presign_upload_part(
        self, key: str, upload_id: str, part_number: int, expires_in: int | None = None
    ) -> str:
        self.path(key)
        validate_part_number(part_number)
        self._upload_dir(upload_id)
        return signing.part_url(
            self.settings, key, upload_id, part_number, self._expiry(expires_in)
        )

    def open_part_write(self, key: str, upload_id: str, part_number: int) -> AtomicWriter:
        """An AtomicWriter for one part (used by the part-upload route); its commit returns
        the part's ETag. UnknownUpload when there is no such pending upload."""
        self.path(key)
        validate_part_number(part_number)
        folder = self._existing_upload(key, upload_id)
        with _os_errors(f"write part {part_number} of {key!r}"):
            return AtomicWriter(folder / f"{part_number:05d}.part")

    def complete_multipart_upload(
        self, key: str, upload_id: str, parts: builtins.list[dict]
    ) -> None:
        path = self.path(key)
        folder = self._existing_upload(key, upload_id)
        with _os_errors(f"complete the upload to {key!r}"), AtomicWriter(path) as out:
            for number, etag in sorted_parts(parts):
                try:
                    part = open(folder / f"{number:05d}.part", "rb")  # noqa: SIM115
                except FileNotFoundError:
                    raise StorageError(f"Part {number} of {key!r} was never uploaded") from None
                with part:
                    # S3 checks each part's etag too: it proves these are the bytes meant.
                    md5 = hashlib.md5(usedforsecurity=False)
                    while chunk := part.read(_CHUNK):
                        out.write(chunk)
                        md5.update(chunk)
                if md5.hexdigest() != etag:
                    raise StorageError(f"Part {number} of {key!r}: ETag does not match")
        shutil.rmtree(folder, ignore_errors=True)

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        self.path(key)
        with contextlib.suppress(UnknownUpload):
            shutil.rmtree(self._existing_upload(key, upload_id), ignore_errors=True)

    # --- health ------------------------------------------------------------------------

    def check(self) -> None:
        with _os_errors(f"use its folder {str(self.root)!r}"):
            self.root.mkdir(parents=True, exist_ok=True)
            probe = AtomicWriter(self.root / f"{_TMP_PREFIX}check")
            probe.write(b"ok")
            probe.discard()


def _validate(key: str) -> None:
    """InvalidKey for a key no object may have here."""
    validate_key(key)
    segments = key.split("/")
    if segments[0] == _MULTIPART_DIR or any(s.startswith(_TMP_PREFIX) for s in segments):
        raise InvalidKey(f"Key uses a name reserved by local storage: {key!r}")


def _link_into_place(src: Path, dest: Path) -> None:
    """`src` at `dest` by a hard link (the bytes copied where there can be no link: another
    file system, or one without them). A new name is linked directly: a link names a
    whole file at once, so no reader sees it partly written. An existing one is replaced
    by a link under a temporary name renamed over it, so readers see the old or the new."""
    try:
        os.link(src, dest)
        return
    except OSError:  # there already (FileExistsError), or no links here: the slow way
        pass
    tmp = dest.with_name(f"{_TMP_PREFIX}{uuid.uuid4().hex}")
    try:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@functools.cache
def _syncfs() -> Any:
    """libc's syncfs (Linux), found in the process's own symbols once; None elsewhere."""
    import ctypes

    return getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)


def _sync_file_system(root: Path) -> None:
    """Flush the file system holding `root` (Linux's syncfs: that one file system only),
    else every file system (os.sync)."""
    import ctypes

    syncfs = _syncfs()
    if syncfs is None:
        os.sync()
        return
    fd = os.open(root, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)
