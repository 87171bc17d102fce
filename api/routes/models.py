"""The model catalog: what can be trained here, served from plain data (no framework is
imported), with whether pretrained weights for each model are available to the caller."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import CurrentUser, SessionDep
from api.schemas.common import TaskType
from api.services import weights
from contract import catalog

router = APIRouter(prefix="/api/v1/models", tags=["models"])


class ModelRead(catalog.ModelInfo):
    pretrained_available: bool  # a pretrained-weights file in the registry fits this model


class ModelList(BaseModel):
    models: list[ModelRead]
    total: int


@router.get("", response_model=ModelList)
def list_models(
    user: CurrentUser,
    db: SessionDep,
    task_type: TaskType | None = None,
    framework: str | None = None,
) -> object:
    """Every model the trainers build, filtered by task and framework. `hub_weights`: the
    framework publishes weights (reaching them needs the network); `pretrained_available`:
    weights for it are in this installation's registry and readable by you."""
    available = weights.available(db, user)
    found = [
        ModelRead(**m.model_dump(), pretrained_available=(m.framework, m.name) in available)
        for m in catalog.models(task_type=task_type, framework=framework)
    ]
    return ModelList(models=found, total=len(found))
