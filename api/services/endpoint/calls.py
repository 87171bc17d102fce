"""One call of `POST /v1/infer/{deployment_id}`, start to end.

In order: who is calling (API key) and which deployment, its status, the tier's limits
(counted in the database), the body (size, shape, image, parameters), the prediction
(this process's ONNX Runtime, or Modal's GPU class), then metering. Database work and
the CPU-bound prediction run in the thread pool: the event loop only moves bytes.

Authorisation answers, in this order:
- 404 `not_found`: no deployment has this id (deleted ones are gone), or the key is a
  valid key of another user's deployment (exactly as a missing one);
- 401 `invalid_api_key`: no key, a malformed, unknown, revoked or expired one;
- 403 `key_not_for_deployment`: a valid key of another deployment of the same user;
- 409 `inactive`: the deployment is not active;
- 429 `rate_limited` / `quota_exceeded`.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.db.models import Deployment
from api.errors import (
    ApiError,
    error_body,
)
from api.schemas.deployments import InferParams
from api.services.endpoint import admission, bodies, keys, metering
from api.services.endpoint.admission import Target
from api.settings import Settings

log = structlog.get_logger("api.endpoint")


def predict(
    settings: Settings, target: Target, image: bytes, params: InferParams
) -> dict[str, Any]:
    """The vap_runtime prediction of `image`: on Modal's GPU class, or in this process."""
    options: dict[str, Any] = {
        "top_k": params.top_k,
        "confidence": params.confidence_threshold,
        "iou": params.iou_threshold,
        "max_detections": params.max_detections,
    }
    if target.device == "gpu":
        from api.services.endpoint import gpu, images

        images.decode(image, settings.infer_max_image_pixels)  # refuse bad bytes here, not there
        return gpu.predict(settings, target.model, image, options)
    from api.services.endpoint import images, sessions

    picture = images.decode(image, settings.infer_max_image_pixels)
    model = sessions.model_for(settings, target.model)
    return model.predict(picture, **options)  # type: ignore[no-any-return]


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _render(payload: Any) -> bytes:
    """JSON exactly as Starlette's JSONResponse writes it (so metered sizes are true)."""
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


async def _meter(settings: Settings, call: metering.Call) -> None:
    """Meter a call now: buffered at once, or written from the thread pool."""
    if metering.batched(settings):
        metering.meter(settings, call)
    else:
        await run_in_threadpool(metering.meter, settings, call)


def _meter_later(settings: Settings, call: metering.Call) -> None:
    """Meter a successful call once its answer is on its way (its latency is the
    answer's; a failure here is logged, the caller already has the answer)."""
    try:
        metering.meter(settings, call)
    except Exception:
        log.exception("usage_not_recorded", deployment_id=str(call.meter.deployment_id))


def _answer(
    settings: Settings,
    target: Target,
    read: Callable[[], tuple[bytes, InferParams]],
    started: float,
) -> bytes:
    """Read the body, predict and encode the answer: in the thread pool, in one hop."""
    image, params = read()
    prediction = predict(settings, target, image, params)
    latency_ms = round(_since(started), 3)
    payload = {
        "deployment_id": str(target.deployment_id),
        "model_version": target.model_version,
        "task_type": target.task_type,
        **prediction,
        "latency_ms": latency_ms,
    }
    return _render(payload)


async def infer(
    settings: Settings,
    deployment_id: uuid.UUID,
    authorization: str | None,
    content_type: str,
    content_length: int | None,
    chunks: AsyncIterator[bytes],
) -> tuple[bytes, dict[str, str], Callable[[], None] | None]:
    """The JSON answer of one call, its headers, and what is left of metering it (None
    when it is done): run that after the answer is sent (a background task), so it costs
    the caller no time. Raises ApiError for every refusal, after metering it (when the
    deployment exists)."""
    started = time.perf_counter()
    meter, outcome, admitted = await run_in_threadpool(
        admission.admit, settings, deployment_id, authorization
    )
    sent = content_length or 0
    try:
        if isinstance(outcome, ApiError):
            raise outcome
        assert meter is not None and admitted is not None
        limit = settings.infer_max_request_mb * 1024 * 1024
        body = await bodies.read_capped(chunks, content_length, limit)
        sent = len(body)
        if bodies.is_form(content_type):
            parsed = await bodies.parse_form(body, content_type)
            read: Callable[[], tuple[bytes, InferParams]] = lambda: parsed  # noqa: E731
        else:
            read = functools.partial(bodies.parse_json, body, content_type)
        answer = await run_in_threadpool(_answer, settings, outcome, read, started)
        call = metering.Call(meter, 200, _since(started), sent, len(answer))
        if metering.batched(settings):
            metering.meter(settings, call)
            return answer, admitted.headers(), None
        return answer, admitted.headers(), functools.partial(_meter_later, settings, call)
    except ApiError as exc:
        if meter is not None:
            size = len(_render(error_body(exc.code, exc.message, exc.details)))
            call = metering.Call(meter, exc.status_code, _since(started), sent, size)
            await _meter(settings, call)
        if admitted is not None:
            exc.headers = {**admitted.headers(), **(exc.headers or {})}
        raise
    except Exception:
        if meter is not None:
            await _meter(settings, metering.Call(meter, 500, _since(started), sent, 0))
        raise


def usage(
    db: Session, settings: Settings, deployment_id: uuid.UUID, authorization: str | None
) -> Any:
    """This month's usage of a deployment, for its API key or its owner's login (a key
    answers as for a call: see the module docstring; a login as every owned resource)."""
    from api.deps import get_current_user
    from api.services import ownership

    if keys.bearer_key(authorization) is not None:
        _, outcome = admission.authenticate(db, deployment_id, authorization)
        if isinstance(outcome, ApiError):
            raise outcome
        deployment = db.get(Deployment, deployment_id)
    else:
        scheme, _, token = (authorization or "").partition(" ")
        user = get_current_user(db, settings, token.strip() if scheme.lower() == "bearer" else None)
        deployment = ownership.get_for_read(db, Deployment, deployment_id, user)
    assert deployment is not None
    return metering.usage(db, deployment)
