"""Runners and what their workers can do: every runner's table is its workers' own
report (api/services/jobs/capabilities.py); an admin asks them again after a deploy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from api.deps import CurrentUser, SettingsDep, require_role
from api.roles import UserRole
from api.schemas.common import FRAMEWORK_ENUM
from api.schemas.exports import Capabilities
from api.schemas.jobs import RunnerRead
from api.services.jobs import capabilities
from api.services.jobs.runners import RUNNERS

router = APIRouter(tags=["runners"])
Admin = Annotated[Any, Depends(require_role(UserRole.ADMIN))]
# A runner's name; the schema lists the known ones, the service refuses the rest (422).
Runner = Annotated[str, Path(json_schema_extra={"enum": list(RUNNERS)})]


@router.get("/api/v1/runners", response_model=list[RunnerRead])
def list_runners(user: CurrentUser, settings: SettingsDep) -> object:
    """Every runner, which one is the default, and when its workers last reported."""
    return capabilities.runners(settings)


@router.get("/api/v1/runners/{runner}/capabilities", response_model=Capabilities)
def runner_capabilities(
    runner: Runner,
    user: CurrentUser,
    settings: SettingsDep,
    framework: Annotated[str | None, Query(json_schema_extra=FRAMEWORK_ENUM)] = None,
) -> object:
    """The runner's workers' own table: frameworks, export formats, quantizations,
    GPUs, versions, and when they reported it (asked for when there is none yet)."""
    return capabilities.view(capabilities.stored(settings, runner), framework)


# Under operations/: administrative, like every route there.
@router.post("/api/v1/operations/runners/{runner}/refresh", response_model=Capabilities)
def refresh_runner(runner: Runner, user: Admin, settings: SettingsDep) -> object:
    """Ask the runner's workers again now (after deploying a new worker image or Modal
    app); 422 `runner_unavailable` saying why when they cannot be asked and never were."""
    return capabilities.view(capabilities.refresh(settings, runner))
