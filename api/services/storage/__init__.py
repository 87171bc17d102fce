"""Object storage: one interface (`Storage`), a local-folder and an S3-compatible backend.

`get_storage()` picks the backend from settings. Callers never know which one they got.
"""

from __future__ import annotations

import threading

from api.services.storage.base import (
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    Storage,
    StorageError,
    validate_key,
)
from api.settings import Settings, get_settings

__all__ = [
    "InvalidKey",
    "ObjectInfo",
    "ObjectNotFound",
    "Storage",
    "StorageError",
    "get_storage",
    "validate_key",
]

# Settings objects are not hashable; key by identity and keep the object alive with it.
_cache: dict[int, tuple[Settings, Storage]] = {}
_lock = threading.Lock()


def get_storage(settings: Settings | None = None) -> Storage:
    """The storage backend `settings` select (default: the process settings), built once
    per settings object. Building touches no disk or network; `check()` does.
    """
    settings = settings or get_settings()
    with _lock:
        cached = _cache.get(id(settings))
        if cached is not None and cached[0] is settings:
            return cached[1]
        storage = _build(settings)
        _cache[id(settings)] = (settings, storage)
        return storage


def _build(settings: Settings) -> Storage:
    if settings.storage_backend == "s3":
        # Imported here so boto3 loads only where S3 is configured.
        from api.services.storage.s3 import S3Storage

        return S3Storage(settings)
    from api.services.storage.local import LocalStorage

    return LocalStorage(settings)
