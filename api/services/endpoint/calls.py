"""One call of `POST /v1/infer/{deployment_id}`, start to end.

In order: who is calling (API key) and which deployment, its status, the tier's limits
(counted in the database), the body (size, shape, image, parameters), the prediction
(this process's ONNX Runtime, or Modal's GPU class), then metering. Database work and
the CPU-bound prediction run on threads: the event loop only moves bytes. A key this
process has admitted before has its body prepared while its admission runs, but the
answers are as if in that order: a refused call runs no model, and its refusal answers
before any fault of its body.

Authorisation answers, in this order:
- 404 `not_found`: no deployment has this id (deleted ones are gone), or the key is a
  valid key of another user's deployment (exactly as a missing one);
- 401 `invalid_api_key`: no key, a malformed, unknown, revoked or expired one (never
  billed to the deployment's owner; past INFER_AUTH_FAILURES_PER_MINUTE of them from one
  address at one deployment, 429 `auth_throttled` with Retry-After until the minute ends);
- 403 `key_not_for_deployment`: a valid key of another deployment of the same user;
- 409 `inactive`: the deployment is not active;
- 429 `rate_limited` / `quota_exceeded`.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth.logins import user_for_token
from api.db.models import Deployment
from api.errors import (
    ApiError,
    error_body,
)
from api.schemas.deployments import InferParams
from api.services.endpoint import admission, bodies, keys, metering
from api.services.endpoint.admission import Target
from api.services.endpoint.limits import Admitted
from api.services.endpoint.metering import Meter
from api.settings import Settings

log = structlog.get_logger("api.endpoint")

Read = Callable[[], tuple[bytes, InferParams]]
Admission = tuple[Meter | None, Target | ApiError, Admitted | None]


# Admissions run on threads of their own: a call waiting in the thread pool for its
# admission (see _answer) must never hold the thread that admission needs.
_ADMISSIONS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="endpoint-admission")


def prepare_admissions(settings: Settings) -> None:
    """Make an admission thread ready for a first call: its connection open, the
    statement prepared (see admission.prepare). An idle thread takes the next call."""
    _ADMISSIONS.submit(admission.prepare, settings).result()


@dataclass
class Prepared:
    """A call's body, read and checked: its image decoded and, for this process's ONNX
    Runtime, preprocessed for `target`'s model."""

    target: Target
    image: bytes
    params: InferParams
    model: Any = None  # the loaded vap_runtime Model (None on GPU)
    inputs: tuple[Any, Any] | None = None  # (batch, placement) from its preprocess


def prepare(settings: Settings, target: Target, read: Read) -> Prepared:
    """Parse, decode and (on CPU) preprocess the body for `target`: all of a call's work
    before the model runs. Raises the body's ApiError (bad image, too many pixels, bad
    parameters)."""
    from api.services.endpoint import images

    image, params = read()
    picture = images.decode(image, settings.infer_max_image_pixels)  # GPU: refuse bad bytes here
    if target.device == "gpu":
        return Prepared(target, image, params)
    from api.services.endpoint import sessions

    model = sessions.model_for(settings, target.model)
    return Prepared(target, image, params, model, model.preprocess(picture))


def predict(settings: Settings, prepared: Prepared) -> dict[str, Any]:
    """The vap_runtime prediction of a prepared call: on Modal's GPU class, or here."""
    params = prepared.params
    options: dict[str, Any] = {
        "top_k": params.top_k,
        "confidence": params.confidence_threshold,
        "iou": params.iou_threshold,
        "max_detections": params.max_detections,
    }
    model = prepared.model
    if model is None or prepared.inputs is None:
        from api.services.endpoint import gpu

        return gpu.predict(settings, prepared.target.model, prepared.image, options)
    x, placed = prepared.inputs
    return model.postprocess(model.run(x), placed, **options)  # type: ignore[no-any-return]


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
    read: Read,
    admitting: Future[Admission],
    guess: Target | None,
    started: float,
) -> bytes:
    """Prepare the call, wait for its admission, predict and encode the answer: in the
    thread pool, in one hop. With a `guess` (what the key's last call was admitted to
    run) the preparing overlaps the admission's round trip to the database; the model
    runs only once the call is admitted. A fault of the body raised before the admission
    is known yields to its refusal in `infer`."""
    prepared = prepare(settings, guess, read) if guess is not None else None
    _, target, _ = admitting.result()
    if isinstance(target, ApiError):
        raise target
    if prepared is None or prepared.target != target:  # no guess, or a tag changed since
        prepared = prepare(settings, target, read)
    prediction = predict(settings, prepared)
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
    client: str,
    content_type: str,
    content_length: int | None,
    chunks: AsyncIterator[bytes],
) -> tuple[bytes, dict[str, str], Callable[[], None] | None]:
    """The JSON answer of one call, its headers, and what is left of metering it (None
    when it is done): run that after the answer is sent (a background task), so it costs
    the caller no time. Raises ApiError for every refusal, after metering it (when the
    deployment exists).

    The admission starts at once. A key this process has admitted before has its body
    read and prepared meanwhile (see _answer); any other waits for its admission before
    a byte of the body is read."""
    started = time.perf_counter()
    admitting = _ADMISSIONS.submit(
        contextvars.copy_context().run,
        admission.admit,
        settings,
        deployment_id,
        authorization,
        client,
    )
    guess = admission.last_admitted(deployment_id, authorization)
    sent = content_length or 0
    try:
        if guess is None:
            _, outcome, _ = await asyncio.wrap_future(admitting)
            if isinstance(outcome, ApiError):
                raise outcome
        limit = settings.infer_max_request_mb * 1024 * 1024
        body = await bodies.read_capped(chunks, content_length, limit)
        sent = len(body)
        if bodies.is_form(content_type):
            parsed = await bodies.parse_form(body, content_type)
            read: Read = lambda: parsed  # noqa: E731
        else:
            read = functools.partial(bodies.parse_json, body, content_type)
        answer = await run_in_threadpool(_answer, settings, read, admitting, guess, started)
        meter, _, admitted = admitting.result()
        assert meter is not None and admitted is not None
        call = metering.Call(meter, 200, _since(started), sent, len(answer))
        if metering.batched(settings):
            metering.meter(settings, call)
            return answer, admitted.headers(), None
        return answer, admitted.headers(), functools.partial(_meter_later, settings, call)
    except ApiError as exc:
        meter, outcome, admitted = await asyncio.wrap_future(admitting)
        error = outcome if isinstance(outcome, ApiError) else exc  # a refusal answers first
        if meter is not None:
            size = len(_render(error_body(error.code, error.message, error.details)))
            call = metering.Call(meter, error.status_code, _since(started), sent, size)
            await _meter(settings, call)
        if admitted is not None:
            error.headers = {**admitted.headers(), **(error.headers or {})}
        raise error from None
    except Exception:
        await asyncio.wait([asyncio.wrap_future(admitting)])
        if admitting.exception() is None:  # else that failure is the one being raised
            meter, _, _ = admitting.result()
            if meter is not None:
                await _meter(settings, metering.Call(meter, 500, _since(started), sent, 0))
        raise


def usage(
    db: Session, settings: Settings, deployment_id: uuid.UUID, authorization: str | None
) -> Any:
    """This month's usage of a deployment, for its API key or its owner's login (a key
    answers as for a call: see the module docstring; a login as every owned resource)."""
    return metering.usage(db, _usage_reader(db, settings, deployment_id, authorization))


def daily_usage(
    db: Session,
    settings: Settings,
    deployment_id: uuid.UUID,
    authorization: str | None,
    days: int,
) -> Any:
    """The deployment's usage per UTC day over the last `days` days, for the same
    callers as `usage`."""
    from api.services.endpoint import daily_usage

    deployment = _usage_reader(db, settings, deployment_id, authorization)
    return daily_usage.for_deployment(db, deployment, days)


def _usage_reader(
    db: Session, settings: Settings, deployment_id: uuid.UUID, authorization: str | None
) -> Deployment:
    """The deployment, when `authorization` is its API key or its owner's login."""
    from api.services import ownership

    if keys.bearer_key(authorization) is not None:
        _, outcome = admission.authenticate(db, deployment_id, authorization)
        if isinstance(outcome, ApiError):
            raise outcome
        deployment = db.get(Deployment, deployment_id)
    else:
        scheme, _, token = (authorization or "").partition(" ")
        user = user_for_token(db, settings, token.strip() if scheme.lower() == "bearer" else None)
        deployment = ownership.get_for_read(db, Deployment, deployment_id, user)
    assert deployment is not None
    return deployment
