"""Calls of GPU deployments go to the `Inference` class of the deployed Modal app.

The API sends presigned URLs of the model files (Modal holds no storage credentials),
the model file's sha256 (the class caches loaded models by it), the image bytes and
the parameters; it gets the vap_runtime prediction back. Every call is bounded by
modal_call_timeout_seconds, and any failure to reach Modal answers 503 in the common
shape. `modal` is imported only here, only when a GPU deployment is called.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from api.errors import ServiceUnavailable
from api.services.endpoint.sessions import ModelRef
from api.services.jobs.runners.modal import ModalSettings
from api.settings import Settings

CLASS_NAME = "Inference"
_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="modal-infer")


def _modal_cls(app_name: str, name: str, environment: str | None) -> Any:
    import modal

    return modal.Cls.from_name(app_name, name, environment_name=environment)


# Where the endpoint finds Modal's class. Tests put a stand-in here (Modal is out of reach).
cls_factory: Callable[[str, str, str | None], Any] = _modal_cls


def model_payload(settings: Settings, ref: ModelRef) -> dict[str, Any]:
    """What the class needs to fetch and cache the model: short-lived presigned URLs."""
    from api.services.storage import StorageError, get_storage

    storage = get_storage(settings)
    expires = min(settings.signed_url_expire_seconds, 15 * 60)
    try:
        return {
            "checksum_sha256": ref.checksum_sha256 or ref.cache_key,
            "model_url": storage.presign_get(ref.model_key, expires),
            "metadata_url": storage.presign_get(ref.metadata_key, expires),
        }
    except StorageError as exc:
        raise ServiceUnavailable(
            f"Storage could not sign the model: {exc}", code="model_unavailable"
        ) from exc


def predict(
    settings: Settings, ref: ModelRef, image: bytes, params: dict[str, Any]
) -> dict[str, Any]:
    """The prediction from Modal's GPU class. ServiceUnavailable (`gpu_unavailable`) when
    Modal cannot be reached, refuses, or does not answer in time."""
    modal = ModalSettings.of(settings)  # the app the Modal runner spawns functions of
    app, env = modal.modal_app_name, modal.modal_environment or None
    model = model_payload(settings, ref)

    def call() -> dict[str, Any]:
        inference = cls_factory(app, CLASS_NAME, env)()
        return inference.predict.remote(model, image, params)  # type: ignore[no-any-return]

    timeout = modal.modal_call_timeout_seconds
    future = _pool.submit(call)
    try:
        result = future.result(timeout=timeout)
    except FutureTimeout:
        raise ServiceUnavailable(
            f"The GPU backend did not answer within {timeout} s", code="gpu_unavailable"
        ) from None
    except Exception as exc:  # AuthError, NotFoundError, connection errors, remote errors
        raise ServiceUnavailable(
            f"The GPU backend failed: {type(exc).__name__}: {exc}", code="gpu_unavailable"
        ) from exc
    if not isinstance(result, dict):
        raise ServiceUnavailable("The GPU backend answered nonsense", code="gpu_unavailable")
    return result
