"""Deployments of an export, their API keys, and the pay-per-call endpoint's bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import ORMModel

Strategy = Literal["download", "platform_endpoint", "edge_package", "container"]
TierName = Literal["free", "pro", "enterprise"]


class DeploymentConfig(BaseModel):
    """Where and how the endpoint runs the model; other keys are kept as given."""

    model_config = ConfigDict(extra="allow")

    device: Literal["cpu", "gpu"] = "cpu"


class DeploymentCreate(BaseModel):
    export_job_id: uuid.UUID
    strategy: Strategy
    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=2000)
    tier: TierName = "free"
    config: DeploymentConfig = Field(default_factory=DeploymentConfig)


class DeploymentRead(ORMModel):
    id: uuid.UUID
    export_job_id: uuid.UUID
    strategy: str
    name: str
    description: str | None
    status: str
    tier: str
    config: dict[str, Any] | None
    endpoint_url: str | None
    api_key_prefix: str | None = None
    created_at: datetime
    deployed_at: datetime | None
    last_accessed_at: datetime | None


class DeploymentCreated(DeploymentRead):
    """The new deployment, with what is shown only now: its API key (platform_endpoint),
    or a download URL of its artifact (the other strategies)."""

    api_key: str | None = None
    download_url: str | None = None
    download_expires_at: datetime | None = None


class DeploymentEvent(ORMModel):
    event_type: str
    status_before: str | None
    status_after: str | None
    message: str | None
    event_data: dict[str, Any] | None
    created_at: datetime


class ApiKeyCreated(BaseModel):
    """A new key: shown once, never again (only its hash is kept)."""

    api_key: str
    prefix: str
    created_at: datetime


class ApiKeyRead(ORMModel):
    """A key as lists show it: its prefix, never the key; `revoked_at` set once a newer
    key replaced it."""

    id: uuid.UUID
    prefix: str
    deployment_id: uuid.UUID | None
    deployment_name: str | None = None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class DeploymentDownload(BaseModel):
    url: str
    expires_at: datetime


class InferParams(BaseModel):
    """What a caller may tune per call; the image comes separately."""

    confidence_threshold: float = Field(default=0.25, ge=0.0, le=1.0)
    iou_threshold: float = Field(default=0.45, ge=0.0, le=1.0)
    max_detections: int = Field(default=100, ge=1, le=1000)
    top_k: int = Field(default=5, ge=1, le=1000)


class LatencySummary(BaseModel):
    p50: float | None
    p99: float | None


class Usage(BaseModel):
    deployment_id: uuid.UUID
    tier: str
    period_start: datetime
    requests_this_month: int  # every metered call this month, whatever its outcome
    quota_used: int  # calls counted against monthly_quota (admitted past the rate limit)
    monthly_quota: int | None  # None: unlimited
    rate_limit_per_minute: int
    by_outcome: dict[str, int]
    latency_ms: LatencySummary
    request_bytes: int
    response_bytes: int


class DailyLatency(BaseModel):
    """Latency percentiles in ms of a day's calls, whatever their outcome (None: no calls)."""

    p50: float | None
    p95: float | None


class UsageDay(BaseModel):
    """One UTC calendar day of metered calls."""

    day: date
    calls: int
    errors: int = Field(description="calls whose outcome is not `ok`")
    by_outcome: dict[str, int] = Field(
        description="calls by outcome: ok, client_error, server_error, rate_limited "
        "(every one present)"
    )
    latency_ms: DailyLatency
    request_bytes: int
    response_bytes: int


class DeploymentDailyUsage(BaseModel):
    """A deployment's usage per UTC day, `start` to `end` (today), every day listed."""

    deployment_id: uuid.UUID
    start: date
    end: date
    days: list[UsageDay]


class DeploymentCallsPerDay(BaseModel):
    """One deployment's share of an account's usage; lists align with its `days`."""

    deployment_id: uuid.UUID
    name: str
    calls: int
    errors: int
    calls_per_day: list[int]
    errors_per_day: list[int]


class AccountDailyUsage(BaseModel):
    """Usage per UTC day summed over every deployment of the caller, `start` to `end`
    (today), and each deployment's calls per day (those with calls, most first)."""

    start: date
    end: date
    days: list[UsageDay]
    deployments: list[DeploymentCallsPerDay]
