"""Projects: a user's workspaces. Guests are limited to `guest_max_projects`."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.models import Project, User, UserRole
from api.errors import Conflict, Forbidden
from api.schemas.common import Page, PageParams
from api.schemas.projects import ProjectCreate, ProjectRead, ProjectUpdate
from api.services import ownership
from api.services.pagination import paginate
from api.settings import Settings


def create(db: Session, settings: Settings, user: User, data: ProjectCreate) -> Project:
    if user.role == UserRole.GUEST:
        owned = (
            db.scalar(select(func.count()).select_from(Project).where(Project.owner_id == user.id))
            or 0
        )
        if owned >= settings.guest_max_projects:
            raise Forbidden(
                f"Guest accounts are limited to {settings.guest_max_projects} project(s)",
                code="quota_exceeded",
            )
    project = Project(owner_id=user.id, organization_id=user.organization_id, **data.model_dump())
    db.add(project)
    _commit_unique_name(db)
    return project


def list_for(db: Session, user: User, page: PageParams) -> Page[ProjectRead]:
    query = ownership.visible_to(user, Project)
    return paginate(db, query, page, ProjectRead, Project.created_at.desc(), Project.id)


def get(db: Session, user: User, project_id: uuid.UUID) -> Project:
    """The project if `user` may read it; NotFound otherwise (foreign or missing alike)."""
    return ownership.get_for_read(db, Project, project_id, user)


def update(db: Session, user: User, project_id: uuid.UUID, data: ProjectUpdate) -> Project:
    project = ownership.get_for_write(db, Project, project_id, user)
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(project, field, value)
    _commit_unique_name(db)
    return project


def delete(db: Session, user: User, project_id: uuid.UUID) -> None:
    project = ownership.get_for_write(db, Project, project_id, user)
    db.delete(project)
    db.commit()


def _commit_unique_name(db: Session) -> None:
    try:
        db.commit()
    except IntegrityError as exc:
        db.rollback()
        raise Conflict("You already have a project with this name", code="name_taken") from exc
