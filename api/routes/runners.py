"""Runners and what their workers can do: every runner's table is its workers' own
report (api/services/jobs/capabilities.py); an admin asks them again after a deploy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends

from api.deps import CurrentUser, SettingsDep, require_role
from api.lazy import lazy_module
from api.roles import UserRole
from api.schemas.exports import Capabilities
from api.schemas.jobs import RunnerRead

if TYPE_CHECKING:
    from api.services.jobs import capabilities
else:
    capabilities = lazy_module("api.services.jobs.capabilities")

router = APIRouter(prefix="/api/v1/runners", tags=["runners"])
Admin = Annotated[Any, Depends(require_role(UserRole.ADMIN))]


@router.get("", response_model=list[RunnerRead])
def list_runners(user: CurrentUser, settings: SettingsDep) -> object:
    """Every runner, which one is the default, and when its workers last reported."""
    return capabilities.runners(settings)


@router.get("/{runner}/capabilities", response_model=Capabilities)
def runner_capabilities(
    runner: str, user: CurrentUser, settings: SettingsDep, framework: str | None = None
) -> object:
    """The runner's workers' own table: frameworks, export formats, quantizations,
    GPUs, versions, and when they reported it (asked for when there is none yet)."""
    return capabilities.view(capabilities.stored(settings, runner), framework)


@router.post("/{runner}/refresh", response_model=Capabilities)
def refresh_runner(runner: str, user: Admin, settings: SettingsDep) -> object:
    """Ask the runner's workers again now (after deploying a new worker image or Modal
    app); 503 saying why when they cannot be asked."""
    return capabilities.view(capabilities.refresh(settings, runner))
