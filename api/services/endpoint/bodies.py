"""The body of one call: JSON with a base64 image, or a multipart form with a `file`,
and the same optional parameters either way."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from pydantic import ValidationError

from api.errors import ApiError, PayloadTooLarge, Unprocessable, invalid_form
from api.schemas.deployments import InferParams

PARAM_NAMES = tuple(InferParams.model_fields)


class UnsupportedMediaType(ApiError):
    status_code, code = 415, "unsupported_media_type"


async def read_capped(chunks: AsyncIterator[bytes], declared: int | None, limit: int) -> bytes:
    """The whole body, refused (413 `request_too_large`) as soon as it is known to exceed
    `limit` bytes: from Content-Length before reading, else while reading."""
    too_large = PayloadTooLarge(
        f"Requests are limited to {limit // (1024 * 1024)} MB", code="request_too_large"
    )
    if declared is not None and declared > limit:
        raise too_large
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise too_large
        parts.append(chunk)
    return b"".join(parts)


def _media(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_form(content_type: str) -> bool:
    return _media(content_type) == "multipart/form-data"


def parse_json(body: bytes, content_type: str) -> tuple[bytes, InferParams]:
    """The image bytes and parameters of a JSON body. CPU work on a body of up to
    infer_max_request_mb: run it in the thread pool, not on the event loop.

    Unprocessable for a missing or undecodable image field (`bad_image`) or parameters
    out of range (`validation_error`); UnsupportedMediaType for a body neither JSON nor
    a multipart form."""
    media = _media(content_type)
    if media != "application/json" and (media or not body.lstrip().startswith(b"{")):
        raise UnsupportedMediaType(
            "Send JSON {'image': '<base64>'} or a multipart form with a 'file' part"
        )
    image, fields = _from_json(body)
    return image, _params(fields)


async def parse_form(body: bytes, content_type: str) -> tuple[bytes, InferParams]:
    """The image bytes and parameters of a multipart form (a `file` part and the same
    fields as JSON); refused as parse_json refuses."""
    image, fields = await _from_form(body, content_type)
    return image, _params(fields)


def _params(fields: dict[str, Any]) -> InferParams:
    try:
        return InferParams.model_validate(fields)
    except ValidationError as exc:
        raise invalid_form(exc) from None


def _from_json(body: bytes) -> tuple[bytes, dict[str, Any]]:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Unprocessable(f"The body is not JSON: {exc}", code="validation_error") from None
    if not isinstance(data, dict):
        raise Unprocessable("The body must be a JSON object", code="validation_error")
    encoded = data.get("image")
    if not isinstance(encoded, str) or not encoded:
        raise Unprocessable("image: a base64 string is required", code="bad_image")
    if encoded.startswith("data:") and "," in encoded:  # a data URL
        encoded = encoded.split(",", 1)[1]
    try:
        image = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise Unprocessable("image: not valid base64", code="bad_image") from None
    return image, {k: data[k] for k in PARAM_NAMES if data.get(k) is not None}


async def _from_form(body: bytes, content_type: str) -> tuple[bytes, dict[str, Any]]:
    from starlette.datastructures import Headers, UploadFile
    from starlette.formparsers import MultiPartException, MultiPartParser

    async def once() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(Headers({"content-type": content_type}), once(), max_files=1)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise Unprocessable(f"A broken multipart form: {exc.message}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Unprocessable("file: an image file part is required", code="bad_image")
        image = await upload.read()
        fields = {
            k: v for k in PARAM_NAMES if isinstance(v := form.get(k), str) and v.strip() != ""
        }
        return image, fields
    finally:
        await form.close()
