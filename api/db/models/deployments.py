from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, select
from sqlalchemy.orm import Mapped, column_property, mapped_column

from api.db.base import Base, Timestamps, UUIDPrimaryKey, utcnow
from api.db.models._enum import str_enum


class DeploymentStrategy(enum.StrEnum):
    DOWNLOAD = "download"
    PLATFORM_ENDPOINT = "platform_endpoint"
    EDGE_PACKAGE = "edge_package"
    CONTAINER = "container"


class DeploymentStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DEPLOYING = "deploying"
    FAILED = "failed"


class Tier(enum.StrEnum):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class Deployment(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "deployments"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    export_job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("export_jobs.id", ondelete="RESTRICT"), index=True
    )
    strategy: Mapped[DeploymentStrategy] = mapped_column(str_enum(DeploymentStrategy), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[DeploymentStatus] = mapped_column(
        str_enum(DeploymentStatus), default=DeploymentStatus.DEPLOYING, index=True
    )
    tier: Mapped[Tier] = mapped_column(str_enum(Tier), default=Tier.FREE)
    config: Mapped[dict[str, Any] | None]  # device (cpu/gpu), thresholds, ...
    endpoint_url: Mapped[str | None] = mapped_column(String(500))
    artifact_key: Mapped[str | None] = mapped_column(String(500))  # package / container bundle
    docker_image: Mapped[str | None] = mapped_column(String(500))
    deployed_at: Mapped[datetime | None]
    last_accessed_at: Mapped[datetime | None]


class DeploymentHistory(UUIDPrimaryKey, Base):
    """Lifecycle log of a deployment: deployed, deactivated, reactivated, key rotated, ..."""

    __tablename__ = "deployment_history"

    deployment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(50), index=True)
    event_data: Mapped[dict[str, Any] | None]
    status_before: Mapped[str | None] = mapped_column(String(32))
    status_after: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ApiKey(UUIDPrimaryKey, Base):
    """A key for the pay-per-call endpoint. Only a hash is kept; the key is shown once."""

    __tablename__ = "api_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    deployment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(255))
    prefix: Mapped[str] = mapped_column(
        String(32), unique=True
    )  # shown in lists: "vap_live_ab12cd"
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


# The display prefix of the deployment's live key (None: no key, or all revoked), read
# with the row so lists need no second query.
Deployment.api_key_prefix = column_property(  # type: ignore[attr-defined]
    select(ApiKey.prefix)
    .where(ApiKey.deployment_id == Deployment.id, ApiKey.revoked_at.is_(None))
    .order_by(ApiKey.created_at.desc())
    .limit(1)
    .correlate_except(ApiKey)
    .scalar_subquery()
)


class UsageRecord(Base):
    """One metered call of a deployment's endpoint, for billing and quotas."""

    __tablename__ = "usage_records"
    __table_args__ = (
        Index("ix_usage_records_deployment_created", "deployment_id", "created_at"),
        Index("ix_usage_records_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    deployment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(
        String(32)
    )  # ok | client_error | server_error | rate_limited
    status_code: Mapped[int]
    latency_ms: Mapped[float]
    request_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    response_bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class EndpointCounter(Base):
    """A fixed-window request counter of one deployment, shared by every API replica.

    One row per (deployment, period): "minute" for the rate limit, "month" for the
    quota. An atomic UPSERT adds one, or starts a new window when the stored one has
    ended, so the table never grows with time (see api/services/endpoint/limits.py).
    """

    __tablename__ = "endpoint_counters"
    __table_args__ = (PrimaryKeyConstraint("deployment_id", "period"),)

    deployment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    period: Mapped[str] = mapped_column(String(16))  # minute | month
    window_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(default=0)
