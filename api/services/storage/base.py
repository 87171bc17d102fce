"""The storage interface every backend implements, its errors, and key rules.

Keys are relative POSIX paths laid out by kind (`datasets/{id}/…`, `checkpoints/{job}/…`,
`exports/{id}/…`, `results/{id}/…`). The same key means the same object on every backend,
so keys are validated here, once, before any backend touches them.
"""

from __future__ import annotations

import abc
import builtins
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from api.services.threads import in_threads

MAX_KEY_BYTES = 1024  # the S3 limit; the local backend keeps to it so keys stay portable
MAX_PARTS = 10_000  # the S3 limit on part numbers, kept by both backends


class StorageError(Exception):
    """Storage is unusable or refused an operation; the message says why (never secrets)."""


class ObjectNotFound(StorageError):
    """No object under that key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"No object at key {key!r}")
        self.key = key


class InvalidKey(StorageError):
    """A key (or prefix) that is not a safe relative POSIX path."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int


def validate_key(key: str) -> str:
    """Return `key` unchanged if it is a valid object key; raise InvalidKey otherwise.

    Valid: a relative POSIX path of non-empty segments, none `.` or `..`, with no
    backslash or control character, at most 1024 bytes of UTF-8.
    """
    if not isinstance(key, str) or not key:
        raise InvalidKey("Key must be a non-empty string")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidKey(f"Key is longer than {MAX_KEY_BYTES} bytes")
    if key.startswith("/"):
        raise InvalidKey(f"Key must be relative: {key!r}")
    if "\\" in key:
        raise InvalidKey(f"Key must not contain backslashes: {key!r}")
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise InvalidKey(f"Key must not contain control characters: {key!r}")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKey(f"Key has an empty, '.' or '..' segment: {key!r}")
    return key


def validate_prefix(prefix: str) -> str:
    """Return `prefix` unchanged if it is "" or a valid key, optionally ending in "/".

    Prefixes match like S3's: by string, so "datasets/1" also matches "datasets/10/x".
    """
    if prefix:
        validate_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def validate_part_number(part_number: int) -> int:
    """`part_number` if within 1..10000 (the S3 range); StorageError otherwise."""
    if not 1 <= part_number <= MAX_PARTS:
        raise StorageError(f"Part number must be between 1 and {MAX_PARTS}, got {part_number}")
    return part_number


def content_disposition(filename: str) -> str:
    """An attachment Content-Disposition for `filename`, safe for any characters in it."""
    quoted = quote(filename)
    # RFC 6266: plain names go in quotes; anything else (non-ASCII, quotes) in filename*
    if quoted == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename*=utf-8''{quoted}"


class Storage(abc.ABC):
    """An object store: local folder or S3-compatible. All methods are synchronous.

    Every method validates its key first and raises InvalidKey for a bad one. Any other
    failure of the backend (unreachable, refused, out of space) raises StorageError.
    Presigned URLs need no other credentials: plain HTTP clients can use them.
    """

    @abc.abstractmethod
    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store `data` at `key`, replacing any object there; readers see old or new, whole."""

    @abc.abstractmethod
    def put_file(
        self, key: str, src: str | Path | BinaryIO, content_type: str | None = None
    ) -> None:
        """Store a file (path or readable binary stream) at `key`, replacing any object there."""

    def put_files(self, items: Iterable[tuple[str, Path, str | None]], threads: int = 8) -> None:
        """Store each (key, file, content type), several at once; all are stored when it
        returns (raises the first failure). A backend may make them durable together, and
        may take the files over (hard links): the caller must not change them after (it
        may delete them)."""
        in_threads(lambda item: self.put_file(*item), list(items), threads)

    @abc.abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """The object's content. ObjectNotFound when missing."""

    @abc.abstractmethod
    def open_read(self, key: str) -> BinaryIO:
        """A readable stream of the object's content; the caller closes it.

        ObjectNotFound when missing.
        """

    @abc.abstractmethod
    def download_file(self, key: str, dest: str | Path) -> None:
        """Copy the object into the file `dest`, creating its folder; `dest` appears whole.

        ObjectNotFound when missing.
        """

    @abc.abstractmethod
    def copy(self, src: str, dest: str) -> None:
        """Copy the object at `src` to `dest` inside the store (no bytes pass through
        this process on S3), replacing any object there. ObjectNotFound when missing."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored at `key`."""

    @abc.abstractmethod
    def stat(self, key: str) -> ObjectInfo:
        """The object's key and size in bytes. ObjectNotFound when missing."""

    @abc.abstractmethod
    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix` ("" for all), sorted by key."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object at `key`; a missing object is not an error."""

    @abc.abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with `prefix`; return how many were removed.

        An empty prefix raises InvalidKey: wiping the whole store takes more than a typo.
        """

    @abc.abstractmethod
    def presign_get(
        self, key: str, expires_in: int | None = None, filename: str | None = None
    ) -> str:
        """A URL that GETs the object until it expires (default: signed_url_expire_seconds).

        With `filename`, the response carries an attachment Content-Disposition.
        The object need not exist yet; a GET of a missing one answers 404.
        """

    @abc.abstractmethod
    def presign_put(
        self, key: str, expires_in: int | None = None, content_type: str | None = None
    ) -> str:
        """A URL that PUTs the request body as the object until it expires.

        With `content_type`, the upload must send exactly that Content-Type header.
        """

    @abc.abstractmethod
    def create_multipart_upload(self, key: str, content_type: str | None = None) -> str:
        """Start a multipart upload to `key`; return its upload id."""

    @abc.abstractmethod
    def presign_upload_part(
        self, key: str, upload_id: str, part_number: int, expires_in: int | None = None
    ) -> str:
        """A URL that PUTs part `part_number` (1..10000) of the upload; its response's ETag
        header is the etag `complete_multipart_upload` needs. On S3 every part but the last
        must be at least 5 MiB.
        """

    @abc.abstractmethod
    def complete_multipart_upload(
        self, key: str, upload_id: str, parts: builtins.list[dict]
    ) -> None:
        """Join the listed parts ([{"part_number": n, "etag": "..."}], any order) in
        part-number order into the object at `key`, atomically. Parts not listed are dropped.

        StorageError when the upload is unknown, a part is missing or an etag differs.
        """

    @abc.abstractmethod
    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        """Discard the upload and its parts; an unknown or finished upload is not an error."""

    @abc.abstractmethod
    def check(self) -> None:
        """Return when the backend can be used; raise StorageError saying why otherwise."""


def sorted_parts(parts: builtins.list[dict]) -> builtins.list[tuple[int, str]]:
    """(part_number, etag without quotes) pairs in part order; StorageError on bad input."""
    try:
        pairs = sorted(
            (validate_part_number(int(p["part_number"])), str(p["etag"]).strip('"')) for p in parts
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StorageError('Parts must be a list of {"part_number": int, "etag": str}') from exc
    if not pairs:
        raise StorageError("A multipart upload needs at least one part")
    numbers = [n for n, _ in pairs]
    if len(set(numbers)) != len(numbers):
        raise StorageError("A part number is listed twice")
    return pairs
