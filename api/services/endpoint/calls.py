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
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.db.models import ApiKey, Deployment, DeploymentStatus, ExportJob
from api.errors import (
    ApiError,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    error_body,
)
from api.schemas.deployments import InferParams
from api.services.endpoint import bodies, keys, limits, metering
from api.services.endpoint.limits import Admitted
from api.services.endpoint.metering import Meter
from api.services.endpoint.sessions import ModelRef
from api.services.endpoint.tiers import limits_of
from api.settings import Settings

log = structlog.get_logger("api.endpoint")


@dataclass(frozen=True)
class Target:
    """What an authorised call runs."""

    deployment_id: uuid.UUID
    status: str
    tier: str
    device: str
    model: ModelRef
    model_version: str
    task_type: str


def _session(settings: Settings) -> Session:
    from api.db.session import new_session

    return new_session(settings)


def _not_found() -> NotFound:
    return NotFound("Deployment not found")


def authenticate(
    db: Session, deployment_id: uuid.UUID, authorization: str | None
) -> tuple[Meter | None, Target | ApiError]:
    """Whom the call is billed to (None: nobody, the deployment does not exist) and either
    what it runs or the error to answer."""
    key = keys.bearer_key(authorization)
    found = None
    if key is not None:
        digest = keys.hash_key(key)
        found = db.execute(
            select(ApiKey, Deployment, ExportJob)
            .join(Deployment, ApiKey.deployment_id == Deployment.id)
            .join(ExportJob, Deployment.export_job_id == ExportJob.id)
            .where(ApiKey.key_hash == digest)
        ).first()
        if found is not None and not _usable(found[0], digest):
            found = None
    if found is not None and found[1].id == deployment_id:
        api_key, deployment, export = found
        meter = Meter(
            deployment.id,
            deployment.user_id,
            api_key.id,
            deployment_accessed_at=deployment.last_accessed_at,
            key_used_at=api_key.last_used_at,
        )
        return meter, _target(deployment, export)
    requested = db.get(Deployment, deployment_id)
    if requested is None:
        return None, _not_found()
    if found is None:
        return Meter(requested.id, requested.user_id, None), Unauthorized(
            "A valid API key of this deployment is required (Authorization: Bearer vap_live_...)",
            code="invalid_api_key",
        )
    api_key = found[0]
    if requested.user_id != api_key.user_id:
        return None, _not_found()
    return Meter(requested.id, requested.user_id, api_key.id), Forbidden(
        "This API key belongs to another deployment", code="key_not_for_deployment"
    )


def _usable(api_key: ApiKey, digest: str) -> bool:
    now = datetime.now(UTC)
    return (
        hmac.compare_digest(api_key.key_hash, digest)
        and api_key.revoked_at is None
        and (api_key.expires_at is None or api_key.expires_at > now)
    )


def _target(deployment: Deployment, export: ExportJob) -> Target:
    return Target(
        deployment_id=deployment.id,
        status=str(deployment.status),
        tier=str(deployment.tier),
        device=str((deployment.config or {}).get("device", "cpu")),
        model=ModelRef(
            cache_key=export.checksum_sha256 or str(export.id),
            model_key=export.export_key or "",
            metadata_key=export.metadata_key or "",
            checksum_sha256=export.checksum_sha256,
        ),
        model_version=export.version_tag or f"v{export.version}",
        task_type=export.task_type,
    )


def admit(
    settings: Settings, deployment_id: uuid.UUID, authorization: str | None
) -> tuple[Meter | None, Target | ApiError, Admitted | None]:
    """Authenticate, check the status and count the call against the tier's limits."""
    with _session(settings) as db:
        meter, outcome = authenticate(db, deployment_id, authorization)
        if isinstance(outcome, ApiError):
            return meter, outcome, None
        if outcome.status != DeploymentStatus.ACTIVE:
            return meter, Conflict(f"The deployment is {outcome.status}", code="inactive"), None
        try:
            admitted = limits.admit(db, deployment_id, limits_of(outcome.tier))
        except ApiError as refused:
            return meter, refused, None
        return meter, outcome, admitted


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


def _render(payload: Any) -> bytes:
    """JSON exactly as Starlette's JSONResponse writes it (so metered sizes are true)."""
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _record(
    settings: Settings, meter: Meter, status: int, started: float, sent: int, answered: int
) -> None:
    with _session(settings) as db:
        metering.record(db, meter, status, (time.perf_counter() - started) * 1000, sent, answered)


def _record_later(
    settings: Settings, meter: Meter, latency_ms: float, sent: int, answered: int
) -> None:
    """Meter a successful call once its answer is on its way (its latency is the
    answer's; a failure here is logged, the caller already has the answer)."""
    try:
        with _session(settings) as db:
            metering.record(db, meter, 200, latency_ms, sent, answered)
    except Exception:
        log.exception("usage_not_recorded", deployment_id=str(meter.deployment_id))


def _answer(
    settings: Settings,
    meter: Meter,
    target: Target,
    read: Callable[[], tuple[bytes, InferParams]],
    started: float,
    sent: int,
) -> bytes:
    """Read the body, predict and encode the answer: in the thread pool, in one hop."""
    image, params = read()
    prediction = predict(settings, target, image, params)
    latency_ms = round((time.perf_counter() - started) * 1000, 3)
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
) -> tuple[bytes, dict[str, str], Callable[[], None]]:
    """The JSON answer of one call, its headers, and what meters it: run it after the
    answer is sent (a background task), so metering costs the caller no time. Raises
    ApiError for every refusal, after metering it (when the deployment exists)."""
    started = time.perf_counter()
    meter, outcome, admitted = await run_in_threadpool(
        admit, settings, deployment_id, authorization
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
        answer = await run_in_threadpool(_answer, settings, meter, outcome, read, started, sent)
        latency_ms = (time.perf_counter() - started) * 1000
        return (
            answer,
            admitted.headers(),
            functools.partial(_record_later, settings, meter, latency_ms, sent, len(answer)),
        )
    except ApiError as exc:
        if meter is not None:
            size = len(_render(error_body(exc.code, exc.message, exc.details)))
            await run_in_threadpool(_record, settings, meter, exc.status_code, started, sent, size)
        if admitted is not None:
            exc.headers = {**admitted.headers(), **(exc.headers or {})}
        raise
    except Exception:
        if meter is not None:
            await run_in_threadpool(_record, settings, meter, 500, started, sent, 0)
        raise


def usage(
    db: Session, settings: Settings, deployment_id: uuid.UUID, authorization: str | None
) -> Any:
    """This month's usage of a deployment, for its API key or its owner's login (a key
    answers as for a call: see the module docstring; a login as every owned resource)."""
    from api.deps import get_current_user
    from api.services import ownership

    if keys.bearer_key(authorization) is not None:
        _, outcome = authenticate(db, deployment_id, authorization)
        if isinstance(outcome, ApiError):
            raise outcome
        deployment = db.get(Deployment, deployment_id)
    else:
        scheme, _, token = (authorization or "").partition(" ")
        user = get_current_user(db, settings, token.strip() if scheme.lower() == "bearer" else None)
        deployment = ownership.get_for_read(db, Deployment, deployment_id, user)
    assert deployment is not None
    return metering.usage(db, deployment)
