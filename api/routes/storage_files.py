"""Serves the local storage backend's signed URLs: download, upload, multipart parts.

No login here: the URL's signature is the permission (workers hold URLs, never
credentials). Nothing is served without a valid, unexpired signature. With the S3
backend these routes answer 404: S3 serves its own presigned URLs.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Callable, Iterator
from typing import Annotated, BinaryIO

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from api.deps import SettingsDep
from api.services.storage import get_storage
from api.services.storage.base import InvalidKey, ObjectNotFound, content_disposition
from api.services.storage.local import AtomicWriter, LocalStorage, UnknownUpload
from api.services.storage.signing import InvalidSignature, Operation, part_resource, verify

router = APIRouter(prefix="/api/v1/storage", tags=["storage"])

_CHUNK = 1024 * 1024


def local_storage(settings: SettingsDep) -> LocalStorage:
    """The local backend; 404 when another backend is configured."""
    storage = get_storage(settings)
    if not isinstance(storage, LocalStorage):
        raise HTTPException(status_code=404, detail="Not Found")
    return storage


LocalStorageDep = Annotated[LocalStorage, Depends(local_storage)]


def _signed_params(
    storage: LocalStorage, op: Operation, resource: str, request: Request
) -> dict[str, str]:
    try:
        return verify(storage.settings, op, resource, request.query_params.multi_items())
    except InvalidSignature as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from exc


def _require_valid_key(storage: LocalStorage, key: str) -> None:
    try:
        storage.path(key)
    except InvalidKey as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    with f:
        while chunk := f.read(_CHUNK):
            yield chunk


async def _receive(request: Request, open_writer: Callable[[], AtomicWriter]) -> str:
    """Stream the request body into a new writer, chunk by chunk; return the ETag."""
    writer = await run_in_threadpool(open_writer)
    try:
        async for chunk in request.stream():
            if chunk:
                await run_in_threadpool(writer.write, chunk)
        return await run_in_threadpool(writer.commit)
    except BaseException:
        writer.discard()  # quick, and must run even when the request is cancelled
        raise


@router.get("/files/{key:path}")
def download(key: str, request: Request, storage: LocalStorageDep) -> StreamingResponse:
    """The object's content; `filename` (signed) asks for an attachment of that name."""
    _require_valid_key(storage, key)
    params = _signed_params(storage, "get", key, request)
    try:
        f = storage.open_read(key)
    except ObjectNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    # The size of the file we opened: a concurrent replace swaps the name, not this file.
    headers = {"Content-Length": str(os.fstat(f.fileno()).st_size)}
    filename = params.get("filename")
    if filename:
        headers["Content-Disposition"] = content_disposition(filename)
    media_type = mimetypes.guess_type(filename or key)[0] or "application/octet-stream"
    return StreamingResponse(_chunks(f), media_type=media_type, headers=headers)


@router.put("/files/{key:path}")
async def upload(key: str, request: Request, storage: LocalStorageDep) -> Response:
    """Store the request body as the object, replacing any; answers its ETag like S3."""
    _require_valid_key(storage, key)
    params = _signed_params(storage, "put", key, request)
    signed_type = params.get("content_type")
    if signed_type is not None and request.headers.get("content-type") != signed_type:
        # As S3 does: a URL signed for one type cannot upload another.
        raise HTTPException(status_code=403, detail="Content-Type differs from the signed one")
    etag = await _receive(request, lambda: storage.open_write(key))
    return Response(status_code=200, headers={"ETag": f'"{etag}"'})


@router.put("/uploads/{upload_id}/parts/{part_number}")
async def upload_part(
    upload_id: str, part_number: str, request: Request, storage: LocalStorageDep
) -> Response:
    """Store the request body as one part of a multipart upload; answers its ETag."""
    params = _signed_params(storage, "part", part_resource(upload_id, part_number), request)
    key = params.get("key", "")
    _require_valid_key(storage, key)

    def open_part() -> AtomicWriter:
        try:
            return storage.open_part_write(key, upload_id, int(part_number))
        except (UnknownUpload, ValueError) as exc:
            # Signed by us, so the upload existed: it has since completed or been aborted.
            raise HTTPException(status_code=404, detail=str(exc)) from exc

    etag = await _receive(request, open_part)
    return Response(status_code=200, headers={"ETag": f'"{etag}"'})
