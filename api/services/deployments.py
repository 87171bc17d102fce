"""Deployments of a completed export, their lifecycle and their API keys.

Strategies: `download`, `edge_package` and `container` hand out a presigned, expiring URL
of the export's artifact of that kind (the download package when the export made none);
`platform_endpoint` serves the model at `{api_base_url}/v1/infer/{id}` behind an API key
(see api/services/endpoint/). Every change of a deployment appends a history event.

Deleting a deployment removes it: its keys stop working at once, and its history,
counters and usage records go with the row (foreign keys cascade). The export stays.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.db.models import (
    ApiKey,
    Deployment,
    DeploymentHistory,
    DeploymentStatus,
    DeploymentStrategy,
    ExportJob,
    JobStatus,
    Tier,
    User,
)
from api.errors import Conflict, ServiceUnavailable, Unprocessable
from api.schemas.common import Page, PageParams
from api.schemas.deployments import (
    ApiKeyCreated,
    ApiKeyRead,
    DeploymentCreate,
    DeploymentCreated,
    DeploymentDownload,
    DeploymentEvent,
    DeploymentRead,
)
from api.services import ownership
from api.services.endpoint import keys, metering, warming
from api.services.endpoint.tiers import limits_of
from api.services.pagination import paginate
from api.settings import Settings
from contract import export_formats

# Which export artifact (model_info["artifacts"]) each strategy hands out.
ARTIFACT_OF = {
    DeploymentStrategy.DOWNLOAD: "package",
    DeploymentStrategy.EDGE_PACKAGE: "edge_package",
    DeploymentStrategy.CONTAINER: "container",
    DeploymentStrategy.PLATFORM_ENDPOINT: "package",
}


# --- reading ---------------------------------------------------------------------------


def get(db: Session, user: User, deployment_id: uuid.UUID) -> Deployment:
    """The deployment if `user` owns it (or is an admin); NotFound otherwise."""
    metering.flush()  # its last_accessed_at counts this process's calls so far
    return ownership.get_for_read(db, Deployment, deployment_id, user)


def list_for(db: Session, user: User, page: PageParams) -> Page[DeploymentRead]:
    metering.flush()
    query = ownership.visible_to(user, Deployment)
    return paginate(db, query, page, DeploymentRead, Deployment.created_at.desc(), Deployment.id)


def history(db: Session, user: User, deployment_id: uuid.UUID) -> list[DeploymentEvent]:
    """Every event of the deployment, oldest first."""
    get(db, user, deployment_id)
    rows = db.scalars(
        select(DeploymentHistory)
        .where(DeploymentHistory.deployment_id == deployment_id)
        .order_by(DeploymentHistory.created_at, DeploymentHistory.id)
    )
    return [DeploymentEvent.model_validate(r) for r in rows]


def api_keys(db: Session, user: User, page: PageParams) -> Page[ApiKeyRead]:
    """The keys of the deployments `user` may read, newest first, revoked ones included,
    each with its deployment's name."""
    metering.flush()  # last_used_at counts this process's calls so far
    query = ownership.visible_to(user, ApiKey)
    listed = paginate(db, query, page, ApiKeyRead, ApiKey.created_at.desc(), ApiKey.id)
    ids = {k.deployment_id for k in listed.items if k.deployment_id is not None}
    rows = db.execute(select(Deployment.id, Deployment.name).where(Deployment.id.in_(ids)))
    names = {deployment_id: name for deployment_id, name in rows}
    for key in listed.items:
        if key.deployment_id is not None:
            key.deployment_name = names.get(key.deployment_id)
    return listed


def download(
    db: Session, settings: Settings, user: User, deployment_id: uuid.UUID
) -> DeploymentDownload:
    """A presigned, expiring URL of the deployment's artifact."""
    deployment = get(db, user, deployment_id)
    key = deployment.artifact_key
    if not key:
        raise Conflict("This deployment has nothing to download", code="no_artifact")
    url, expires_at = _presign(settings, key)
    return DeploymentDownload(url=url, expires_at=expires_at)


# --- creating --------------------------------------------------------------------------


def create(db: Session, settings: Settings, user: User, req: DeploymentCreate) -> DeploymentCreated:
    """Deploy a completed export the caller may read.

    NotFound for an export that is missing or someone else's; Conflict `not_completed`
    for one that has not completed, `no_artifact` when it lacks the strategy's artifact;
    Unprocessable `unsupported_format` for a platform endpoint of a non-ONNX export and
    `gpu_not_in_tier` for a GPU endpoint on a tier without GPUs.
    """
    export = ownership.get_for_read(db, ExportJob, req.export_job_id, user)
    if export.status != JobStatus.COMPLETED:
        raise Conflict(
            f"The export is {export.status}; only a completed export can be deployed",
            code="not_completed",
        )
    strategy = DeploymentStrategy(req.strategy)
    endpoint = strategy == DeploymentStrategy.PLATFORM_ENDPOINT
    if endpoint and not export_formats.facts_of(export.format).platform_endpoint:
        raise Unprocessable(
            f"The platform endpoint runs ONNX exports; this one is {export.format}",
            code="unsupported_format",
        )
    if endpoint and (not export.export_key or not export.metadata_key):
        raise Conflict("The export has no model file to serve", code="no_artifact")
    if req.config.device == "gpu" and not limits_of(req.tier).gpu_access:
        raise Unprocessable(
            f"The {req.tier} tier has no GPU access; choose pro or enterprise",
            code="gpu_not_in_tier",
        )
    artifact = _artifact_key(export, strategy)
    if artifact is None and not endpoint:
        raise Conflict(
            f"The export has no {ARTIFACT_OF[strategy]} artifact to deploy", code="no_artifact"
        )
    now = datetime.now(UTC)
    deployment = Deployment(
        id=uuid.uuid4(),
        user_id=user.id,
        export_job_id=export.id,
        strategy=strategy,
        name=req.name,
        description=req.description,
        status=DeploymentStatus.ACTIVE,
        tier=Tier(req.tier),
        config=req.config.model_dump(),
        artifact_key=artifact,
        deployed_at=now,
    )
    if endpoint:
        deployment.endpoint_url = f"{settings.api_base_url.rstrip('/')}/v1/infer/{deployment.id}"
    db.add(deployment)
    db.flush()
    _event(db, deployment, "deployed", None, DeploymentStatus.ACTIVE, f"Deployed as {strategy}")
    api_key = None
    if endpoint:
        api_key, row = _new_key(db, deployment)
        status = deployment.status
        _event(db, deployment, "api_key_created", status, status, "API key created",
               {"prefix": row.prefix})  # fmt: skip
    # Signed before the commit: a storage failure leaves nothing behind.
    url = expires_at = None
    if not endpoint and artifact:
        url, expires_at = _presign(settings, artifact)
    db.commit()
    if endpoint:
        warming.after_activation(settings, deployment.id)
    db.refresh(deployment)
    created = DeploymentCreated.model_validate(deployment)
    created.api_key = api_key
    created.download_url, created.download_expires_at = url, expires_at
    return created


def _artifact_key(export: ExportJob, strategy: DeploymentStrategy) -> str | None:
    artifacts: dict[str, Any] = (export.model_info or {}).get("artifacts") or {}
    key = artifacts.get(ARTIFACT_OF[strategy])
    if key is None and strategy in (
        DeploymentStrategy.DOWNLOAD,
        DeploymentStrategy.PLATFORM_ENDPOINT,
    ):
        key = export.package_key
    return str(key) if key else None


def _presign(settings: Settings, key: str) -> tuple[str, datetime]:
    from api.services.storage import StorageError, get_storage

    expires = settings.signed_url_expire_seconds
    try:
        url = get_storage(settings).presign_get(key, expires, filename=PurePosixPath(key).name)
    except StorageError as exc:
        raise ServiceUnavailable(f"Storage could not sign the download: {exc}") from exc
    return url, datetime.now(UTC) + timedelta(seconds=expires)


# --- changing --------------------------------------------------------------------------


def activate(db: Session, settings: Settings, user: User, deployment_id: uuid.UUID) -> Deployment:
    """Serve calls again; a platform endpoint's model is loaded first (see warming)."""
    deployment = _set_status(db, user, deployment_id, DeploymentStatus.ACTIVE, "activated")
    if deployment.strategy == DeploymentStrategy.PLATFORM_ENDPOINT:
        warming.after_activation(settings, deployment.id)
        db.refresh(deployment)
    return deployment


def deactivate(db: Session, user: User, deployment_id: uuid.UUID) -> Deployment:
    """Refuse calls (409 `inactive`); this process unloads the model."""
    deployment = _set_status(db, user, deployment_id, DeploymentStatus.INACTIVE, "deactivated")
    warming.after_deactivation(db, deployment.export_job_id)
    return deployment


def _set_status(
    db: Session, user: User, deployment_id: uuid.UUID, status: DeploymentStatus, event: str
) -> Deployment:
    """Move to `status`; already there is no change and no event."""
    deployment = ownership.get_for_write(db, Deployment, deployment_id, user)
    before = deployment.status
    if before != status:
        deployment.status = status
        if status == DeploymentStatus.ACTIVE:
            deployment.deployed_at = datetime.now(UTC)
        _event(db, deployment, event, before, status, f"Deployment {event}")
        db.commit()
    return deployment


def delete(db: Session, user: User, deployment_id: uuid.UUID) -> None:
    """Remove the deployment: its endpoint answers 404 and its keys 401 from now on; its
    keys, history, counters and usage records go with it."""
    deployment = ownership.get_for_write(db, Deployment, deployment_id, user)
    export_id = deployment.export_job_id
    db.delete(deployment)
    db.commit()
    warming.after_deactivation(db, export_id)


def rotate_key(db: Session, user: User, deployment_id: uuid.UUID) -> ApiKeyCreated:
    """A new API key; every older key of the deployment is revoked at once.

    Conflict `no_endpoint` for a deployment that is not a platform endpoint."""
    deployment = ownership.get_for_write(db, Deployment, deployment_id, user)
    if deployment.strategy != DeploymentStrategy.PLATFORM_ENDPOINT:
        raise Conflict("Only platform endpoints have API keys", code="no_endpoint")
    now = datetime.now(UTC)
    revoked = list(
        db.scalars(
            update(ApiKey)
            .where(ApiKey.deployment_id == deployment.id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(ApiKey.prefix)
        )
    )
    key, row = _new_key(db, deployment)
    _event(
        db,
        deployment,
        "api_key_rotated",
        deployment.status,
        deployment.status,
        f"New API key; {len(revoked)} older key(s) revoked",
        {"prefix": row.prefix, "revoked": revoked},
    )
    db.commit()
    return ApiKeyCreated(api_key=key, prefix=row.prefix, created_at=row.created_at)


def _new_key(db: Session, deployment: Deployment) -> tuple[str, ApiKey]:
    key = keys.new_key()
    row = ApiKey(
        user_id=deployment.user_id,
        deployment_id=deployment.id,
        name=deployment.name[:255],
        prefix=keys.display_prefix(key),
        key_hash=keys.hash_key(key),
        created_at=datetime.now(UTC),
    )
    db.add(row)
    db.flush()
    return key, row


def _event(
    db: Session,
    deployment: Deployment,
    event_type: str,
    before: str | None = None,
    after: str | None = None,
    message: str | None = None,
    event_data: dict[str, Any] | None = None,
) -> None:
    db.add(
        DeploymentHistory(
            deployment_id=deployment.id,
            event_type=event_type,
            status_before=None if before is None else str(before),
            status_after=None if after is None else str(after),
            message=message,
            event_data=event_data,
            created_at=datetime.now(UTC),
        )
    )
