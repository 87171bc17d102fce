from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from api.deps import CurrentUser, SessionDep, SettingsDep
from api.schemas.common import Page, PageParams
from api.schemas.projects import ProjectCreate, ProjectRead, ProjectUpdate
from api.services import projects

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])


@router.post("", response_model=ProjectRead, status_code=status.HTTP_201_CREATED)
def create_project(
    data: ProjectCreate, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> object:
    return projects.create(db, settings, user, data)


@router.get("", response_model=Page[ProjectRead])
def list_projects(
    user: CurrentUser, db: SessionDep, page: Annotated[PageParams, Depends()]
) -> Page[ProjectRead]:
    return projects.list_for(db, user, page)


@router.get("/{project_id}", response_model=ProjectRead)
def get_project(project_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> object:
    return projects.get(db, user, project_id)


@router.patch("/{project_id}", response_model=ProjectRead)
def update_project(
    project_id: uuid.UUID, data: ProjectUpdate, user: CurrentUser, db: SessionDep
) -> object:
    return projects.update(db, user, project_id, data)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_project(project_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> Response:
    projects.delete(db, user, project_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
