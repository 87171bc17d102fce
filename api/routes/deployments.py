"""Deployments of an export: download, platform endpoint, edge package, container."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from api.deps import CurrentUser, SessionDep, SettingsDep
from api.schemas.common import Page, PageParams
from api.schemas.deployments import (
    AccountDailyUsage,
    ApiKeyCreated,
    ApiKeyRead,
    DeploymentCreate,
    DeploymentCreated,
    DeploymentDownload,
    DeploymentEvent,
    DeploymentRead,
)
from api.services import deployments
from api.services.endpoint import daily_usage

router = APIRouter(prefix="/api/v1/deployments", tags=["deployments"])


@router.post("", response_model=DeploymentCreated, status_code=status.HTTP_201_CREATED)
def create_deployment(
    data: DeploymentCreate, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> DeploymentCreated:
    """Deploy a completed export. A platform endpoint answers with its API key, shown
    only now; the other strategies with a presigned, expiring download URL."""
    return deployments.create(db, settings, user, data)


@router.get("", response_model=Page[DeploymentRead])
def list_deployments(
    user: CurrentUser, db: SessionDep, page: Annotated[PageParams, Depends()]
) -> Page[DeploymentRead]:
    """Your deployments, newest first."""
    return deployments.list_for(db, user, page)


@router.get("/usage/daily", response_model=AccountDailyUsage)
def account_daily_usage(
    user: CurrentUser,
    db: SessionDep,
    days: Annotated[int, Query(ge=1, le=366, description="how many days, today included")] = 30,
) -> AccountDailyUsage:
    """Usage per UTC day of all your deployments' endpoints together, oldest first, every
    day listed: calls, errors by outcome, p50 and p95 latency and bytes; and each
    deployment's calls and errors per day (those with calls, most first), for a chart
    of calls by deployment. One deployment's own series: `GET
    /v1/deployments/{id}/usage/daily`."""
    return daily_usage.for_user(db, user, days)


@router.get("/api-keys", response_model=Page[ApiKeyRead])
def list_api_keys(
    user: CurrentUser, db: SessionDep, page: Annotated[PageParams, Depends()]
) -> Page[ApiKeyRead]:
    """The API keys of all your deployments, newest first: prefixes only (a key is shown
    once, when made), with when each was last used and whether a newer one revoked it."""
    return deployments.api_keys(db, user, page)


@router.get("/{deployment_id}", response_model=DeploymentRead)
def get_deployment(deployment_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> object:
    return deployments.get(db, user, deployment_id)


@router.post("/{deployment_id}/activate", response_model=DeploymentRead)
def activate_deployment(
    deployment_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    """Serve calls again; a platform endpoint answers once its model is loaded."""
    return deployments.activate(db, settings, user, deployment_id)


@router.post("/{deployment_id}/deactivate", response_model=DeploymentRead)
def deactivate_deployment(deployment_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> object:
    """The endpoint refuses calls (409 `inactive`) until activated again."""
    return deployments.deactivate(db, user, deployment_id)


@router.delete("/{deployment_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_deployment(deployment_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> Response:
    """Remove the deployment with its keys, history and usage; the export stays."""
    deployments.delete(db, user, deployment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{deployment_id}/history", response_model=list[DeploymentEvent])
def deployment_history(
    deployment_id: uuid.UUID, user: CurrentUser, db: SessionDep
) -> list[DeploymentEvent]:
    """Every lifecycle event, oldest first."""
    return deployments.history(db, user, deployment_id)


@router.post(
    "/{deployment_id}/api-keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED
)
def rotate_api_key(deployment_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> ApiKeyCreated:
    """A new API key, shown only now; older keys stop working at once."""
    return deployments.rotate_key(db, user, deployment_id)


@router.get("/{deployment_id}/download", response_model=DeploymentDownload)
def download_deployment(
    deployment_id: uuid.UUID, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> DeploymentDownload:
    """A presigned, expiring URL of the deployment's artifact."""
    return deployments.download(db, settings, user, deployment_id)
