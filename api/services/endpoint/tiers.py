"""What each tier may do: the one table of limits (from the export/deployment design)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TierLimits:
    rate_limit_per_minute: int
    monthly_quota: int | None  # None: unlimited
    gpu_access: bool


TIERS: dict[str, TierLimits] = {
    "free": TierLimits(rate_limit_per_minute=10, monthly_quota=1_000, gpu_access=False),
    "pro": TierLimits(rate_limit_per_minute=100, monthly_quota=100_000, gpu_access=True),
    "enterprise": TierLimits(rate_limit_per_minute=1_000, monthly_quota=None, gpu_access=True),
}


def limits_of(tier: str) -> TierLimits:
    return TIERS[str(tier)]
