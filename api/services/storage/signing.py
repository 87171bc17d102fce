"""Expiring, HMAC-signed URLs for the local backend, served by `api/routes/storage_files.py`.

A URL names an operation on a resource and carries its parameters, an expiry (`exp`,
Unix seconds) and a signature (`sig`) over all of them. Holding the URL is the
permission: workers get URLs, never credentials. Every query parameter is signed, so
none can be added, dropped or changed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Literal
from urllib.parse import quote, urlencode

from api.services.storage.base import StorageError
from api.settings import Settings

# The router mounts these (prefix /api/v1/storage); kept here so URLs have one author.
FILES_PATH = "/api/v1/storage/files"
UPLOADS_PATH = "/api/v1/storage/uploads"

Operation = Literal["get", "put", "part"]


class InvalidSignature(StorageError):
    """A URL whose signature is missing, wrong or expired."""


def _derived_key(settings: Settings) -> bytes:
    # The secret also signs JWTs and callback tokens: a purpose-bound subkey keeps a
    # signature made for one use from ever being valid for another.
    return hmac.new(settings.signing_key().encode(), b"vap/storage-url/v1", "sha256").digest()


def _signature(settings: Settings, op: str, resource: str, params: Mapping[str, str]) -> str:
    # JSON gives an unambiguous encoding whatever characters keys and filenames hold.
    message = json.dumps([op, resource, sorted(params.items())], separators=(",", ":"))
    digest = hmac.new(_derived_key(settings), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_url(
    settings: Settings,
    op: Operation,
    path: str,
    resource: str,
    expires_in: int,
    params: Mapping[str, str | None] | None = None,
) -> str:
    """An absolute URL (on api_base_url) for `op` on `resource`, valid `expires_in` seconds.

    `path` is the URL path (already quoted); parameters that are None are left out.
    """
    signed = {k: v for k, v in (params or {}).items() if v is not None}
    signed["exp"] = str(int(time.time()) + expires_in)
    signed["sig"] = _signature(settings, op, resource, signed)
    return f"{settings.api_base_url.rstrip('/')}{path}?{urlencode(signed, quote_via=quote)}"


def verify(
    settings: Settings, op: Operation, resource: str, query: list[tuple[str, str]]
) -> dict[str, str]:
    """The URL's signed parameters (without exp and sig) when its signature is valid and
    unexpired; InvalidSignature otherwise. `query` is the request's query items.
    """
    params = dict(query)
    if len(params) != len(query):
        raise InvalidSignature("A query parameter is repeated")
    sig = params.pop("sig", "")
    expected = _signature(settings, op, resource, params)
    if not sig or not hmac.compare_digest(sig.encode(), expected.encode()):
        raise InvalidSignature("Invalid signature")
    # exp is signed, so once the signature holds, it is the one we issued
    if int(params.pop("exp")) < time.time():
        raise InvalidSignature("The URL has expired")
    return params


def file_url(
    settings: Settings,
    op: Literal["get", "put"],
    key: str,
    expires_in: int,
    params: Mapping[str, str | None] | None = None,
) -> str:
    """A signed URL to GET or PUT the object at `key`."""
    return sign_url(settings, op, f"{FILES_PATH}/{quote(key)}", key, expires_in, params)


def part_url(
    settings: Settings, key: str, upload_id: str, part_number: int, expires_in: int
) -> str:
    """A signed URL to PUT part `part_number` of multipart upload `upload_id` to `key`."""
    resource = part_resource(upload_id, part_number)
    path = f"{UPLOADS_PATH}/{quote(upload_id)}/parts/{part_number}"
    return sign_url(settings, "part", path, resource, expires_in, {"key": key})


def part_resource(upload_id: str, part_number: int | str) -> str:
    """What a part URL's signature covers besides its parameters."""
    return f"{upload_id}/{part_number}"
