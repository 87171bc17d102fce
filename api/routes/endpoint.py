"""The pay-per-call inference endpoint, authorised by API keys, not logins."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.background import BackgroundTask

from api.deps import SessionDep, SettingsDep
from api.schemas.deployments import DeploymentDailyUsage, Usage
from api.services.endpoint import calls, sessions

router = APIRouter(prefix="/v1", tags=["endpoint"])


@router.post("/infer/{deployment_id}")
async def infer(deployment_id: uuid.UUID, request: Request, settings: SettingsDep) -> Response:
    """Predict one image with the deployment's model: `Authorization: Bearer <API key>`,
    JSON `{"image": "<base64>", "confidence_threshold"?, "iou_threshold"?,
    "max_detections"?, "top_k"?}` or a multipart form with a `file` and the same fields.
    Answers the prediction with X-RateLimit-* headers; 429 with Retry-After over the tier,
    and to an address that keeps calling with an invalid key."""
    declared = request.headers.get("content-length")
    body, headers, meter_later = await calls.infer(
        settings,
        deployment_id,
        request.headers.get("authorization"),
        request.client.host if request.client else "unknown",
        request.headers.get("content-type", ""),
        int(declared) if declared and declared.isdigit() else None,
        request.stream(),
    )
    later = BackgroundTask(meter_later) if meter_later is not None else None
    return Response(body, media_type="application/json", headers=headers, background=later)


@router.get("/deployments/{deployment_id}/usage", response_model=Usage)
def deployment_usage(
    deployment_id: uuid.UUID, request: Request, db: SessionDep, settings: SettingsDep
) -> Any:
    """This month's usage, for the deployment's API key or its owner's login."""
    return calls.usage(db, settings, deployment_id, request.headers.get("authorization"))


@router.get("/deployments/{deployment_id}/usage/daily", response_model=DeploymentDailyUsage)
def deployment_daily_usage(
    deployment_id: uuid.UUID,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    days: Annotated[int, Query(ge=1, le=366, description="how many days, today included")] = 30,
) -> Any:
    """Usage per UTC day, oldest first, every day listed (zeros when there were no
    calls): calls, errors by outcome, p50 and p95 latency and bytes. For the
    deployment's API key or its owner's login; anyone else's deployment is 404."""
    authorization = request.headers.get("authorization")
    return calls.daily_usage(db, settings, deployment_id, authorization, days)


@router.get("/health")
async def endpoint_health() -> dict[str, Any]:
    """The endpoint is up; how many models this process has loaded."""
    return {"status": "ok", "cached_models": len(sessions.loaded())}
