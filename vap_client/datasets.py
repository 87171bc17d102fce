"""Datasets: upload (a form for small archives, straight to storage in parts for big
ones), list, get, delete."""

from __future__ import annotations

import io
import os
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from vap_client.errors import NotFound, from_response
from vap_client.models import Dataset, DirectUpload, Page
from vap_client.transport import Transport, drop_none

# (bytes sent, bytes in all)
Progress = Callable[[int, int], None]

# Archives above this go to storage in parts (`/datasets/uploads`): the API never holds
# them, and a part that fails is sent again on its own.
DIRECT_UPLOAD_THRESHOLD = 64 * 2**20
_PART_RETRIES = 4


class DatasetsAPI(Transport):
    def upload_dataset(
        self,
        source: str | Path | bytes,
        name: str,
        *,
        task_type: str | None = None,
        format: str | None = None,
        description: str | None = None,
        split: dict[str, Any] | None = None,
        filename: str | None = None,
        progress: Progress | None = None,
        direct_threshold: int = DIRECT_UPLOAD_THRESHOLD,
    ) -> Dataset:
        """Upload an archive (.zip, .tar, .tar.gz), a folder (zipped on the way) or the
        archive's bytes, and wait for it to be validated. The answer's `status` is
        `ready`, or `error` with `validation_errors`. Archives larger than
        `direct_threshold` bytes go straight to storage in parts."""
        meta = drop_none(
            name=name, task_type=task_type, format=format, description=description, split=split
        )
        with _archive(source, filename) as (stream, archive_name, size):
            if size > direct_threshold:
                return self._upload_direct(stream, archive_name, size, meta, progress)
            return self._upload_form(stream, archive_name, size, meta, progress)

    def _upload_form(
        self,
        stream: BinaryIO,
        archive_name: str,
        size: int,
        meta: dict[str, Any],
        progress: Progress | None,
    ) -> Dataset:
        import json

        fields = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in meta.items()}
        body = _CountingReader(stream, size, progress)
        response = self.request(
            "POST",
            "/api/v1/datasets",
            data=fields,
            files=[("files", (archive_name, body, "application/octet-stream"))],
            # Validation of a large archive takes a while after the last byte.
            timeout=httpx.Timeout(60.0, read=600.0),
        )
        return Dataset.model_validate(response.json())

    def _upload_direct(
        self,
        stream: BinaryIO,
        archive_name: str,
        size: int,
        meta: dict[str, Any],
        progress: Progress | None,
    ) -> Dataset:
        upload = self.start_direct_upload(
            name=meta.pop("name"), filename=archive_name, size_bytes=size, **meta
        )
        done_parts = []
        sent = 0
        for part in upload.parts:
            stream.seek((part.part_number - 1) * upload.part_size)
            chunk = stream.read(upload.part_size)
            etag = _put_part(part.url, chunk)
            done_parts.append({"part_number": part.part_number, "etag": etag})
            sent += len(chunk)
            if progress is not None:
                progress(sent, size)
        return self.complete_direct_upload(upload.dataset_id, done_parts)

    def start_direct_upload(
        self, *, name: str, filename: str, size_bytes: int, **meta: Any
    ) -> DirectUpload:
        """Start an upload straight to storage: presigned URLs of its parts."""
        body = {"name": name, "filename": filename, "size_bytes": size_bytes, **meta}
        return self.post_as(DirectUpload, "/api/v1/datasets/uploads", body)

    def complete_direct_upload(self, dataset_id: str, parts: list[dict[str, Any]]) -> Dataset:
        """Join the parts (`[{"part_number", "etag"}]`) and ingest the archive."""
        return self.post_as(
            Dataset,
            f"/api/v1/datasets/uploads/{dataset_id}/complete",
            {"parts": parts},
            timeout=httpx.Timeout(60.0, read=600.0),
        )

    def list_datasets(
        self,
        *,
        q: str | None = None,
        status: str | None = None,
        task_type: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[Dataset]:
        return self.page_of(
            Dataset,
            "/api/v1/datasets",
            q=q,
            status=status,
            task_type=task_type,
            limit=limit,
            offset=offset,
        )

    def get_dataset(self, dataset_id: str) -> Dataset:
        return self.get_as(Dataset, f"/api/v1/datasets/{dataset_id}")

    def find_dataset(self, id_or_name: str) -> Dataset:
        """A dataset by id, or else by exact name (the newest of that name).
        NotFound when neither matches."""
        if _looks_like_uuid(id_or_name):
            return self.get_dataset(id_or_name)
        for dataset in self.list_datasets(q=id_or_name, limit=200).items:
            if dataset.name == id_or_name:
                return dataset
        raise NotFound(404, "not_found", f"No dataset with the id or name {id_or_name!r}")

    def delete_dataset(self, dataset_id: str) -> None:
        self.delete(f"/api/v1/datasets/{dataset_id}")

    def dataset_manifest(self, dataset_id: str) -> dict[str, Any]:
        return self.get_as(dict, f"/api/v1/datasets/{dataset_id}/manifest")


def _looks_like_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _put_part(url: str, chunk: bytes) -> str:
    """PUT one part to its presigned URL (no login: the URL is the permission); its ETag.
    Retried with backoff: one failed part never restarts the whole upload."""
    for attempt in range(_PART_RETRIES):
        try:
            r = httpx.put(url, content=chunk, timeout=httpx.Timeout(30.0, write=600.0))
            if r.status_code < 400:
                return r.headers["etag"]
            if r.status_code < 500:
                raise from_response(r)
        except httpx.TransportError:
            if attempt == _PART_RETRIES - 1:
                raise
        time.sleep(2**attempt)
    raise from_response(r)


class _CountingReader:
    """A file wrapper that reports how much was read: httpx reads a multipart file in
    chunks as it sends it, so this is the upload's progress."""

    def __init__(self, stream: BinaryIO, size: int, progress: Progress | None) -> None:
        self._stream, self._size, self._progress, self._sent = stream, size, progress, 0

    def read(self, n: int = -1) -> bytes:
        chunk = self._stream.read(n)
        self._sent += len(chunk)
        if self._progress is not None and chunk:
            self._progress(self._sent, self._size)
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def fileno(self) -> int:
        return self._stream.fileno()


class _archive:  # noqa: N801 - used as a context manager, like open()
    """The upload's bytes as a seekable stream, its file name and size: a folder is
    zipped to a temporary file first, bytes are wrapped."""

    def __init__(self, source: str | Path | bytes, filename: str | None) -> None:
        self.source, self.filename = source, filename
        self._tmp: Any = None
        self._stream: BinaryIO | None = None

    def __enter__(self) -> tuple[BinaryIO, str, int]:
        if isinstance(self.source, bytes):
            self._stream = io.BytesIO(self.source)
            return self._stream, self.filename or "dataset.zip", len(self.source)
        path = Path(self.source)
        if path.is_dir():
            self._tmp = tempfile.NamedTemporaryFile(suffix=".zip")  # noqa: SIM115
            _zip_folder(path, self._tmp)
            self._tmp.flush()
            self._tmp.seek(0)
            size = os.fstat(self._tmp.fileno()).st_size
            return self._tmp, self.filename or f"{path.name or 'dataset'}.zip", size
        self._stream = path.open("rb")
        return self._stream, self.filename or path.name, path.stat().st_size

    def __exit__(self, *exc: object) -> None:
        for f in (self._stream, self._tmp):
            if f is not None:
                f.close()


def _zip_folder(folder: Path, out: BinaryIO) -> None:
    # Images are compressed already: storing them is as small and much faster.
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
