"""A user's datasets: listing, reading, changing, re-splitting and deleting."""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_
from sqlalchemy.orm import Session

from api.db.models import Dataset, DatasetStatus, Project, User, Visibility
from api.errors import BadRequest, Conflict
from api.schemas.common import Page, PageParams
from api.schemas.datasets import DatasetRead, DatasetUpdate
from api.services import ownership
from api.services.datasets import stats, uploads
from api.services.datasets.formats.base import DraftImage
from api.services.datasets.problems import Problems
from api.services.datasets.splits import SplitPolicy, assign
from api.services.pagination import paginate
from api.services.storage import get_storage
from api.settings import Settings
from contract.manifest import Manifest


def list_for(
    db: Session,
    user: User,
    page: PageParams,
    *,
    status: str | None = None,
    format: str | None = None,
    task_type: str | None = None,
    project_id: uuid.UUID | None = None,
    q: str | None = None,
) -> Page[DatasetRead]:
    """Datasets `user` may read (their own and public ones), newest first, filtered."""
    query = ownership.visible_to(user, Dataset)
    if status:
        query = query.where(Dataset.status == status)
    if format:
        query = query.where(Dataset.format == format)
    if task_type:
        query = query.where(Dataset.task_type == task_type)
    if project_id:
        query = query.where(Dataset.project_id == project_id)
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(
            or_(
                func.lower(Dataset.name).like(pattern),
                func.lower(Dataset.description).like(pattern),
            )
        )
    return paginate(db, query, page, DatasetRead, Dataset.created_at.desc(), Dataset.id)


def get(db: Session, user: User, dataset_id: uuid.UUID) -> Dataset:
    return ownership.get_for_read(db, Dataset, dataset_id, user)


def update(db: Session, user: User, dataset_id: uuid.UUID, data: DatasetUpdate) -> Dataset:
    row = ownership.get_for_write(db, Dataset, dataset_id, user)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("project_id") is not None:
        ownership.get_for_write(db, Project, changes["project_id"], user)
    if "visibility" in changes:
        changes["visibility"] = Visibility(changes["visibility"])
    for field, value in changes.items():
        setattr(row, field, value)
    db.commit()
    return row


def delete(db: Session, settings: Settings, user: User, dataset_id: uuid.UUID) -> None:
    """Remove the dataset, its snapshots and every object it stored."""
    row = ownership.get_for_write(db, Dataset, dataset_id, user)
    storage = get_storage(settings)
    uploads.abort_direct_upload(storage, row)
    storage.delete_prefix(row.storage_prefix)
    db.delete(row)
    db.commit()


def manifest(db: Session, settings: Settings, user: User, dataset_id: uuid.UUID) -> dict:
    return uploads.read_manifest(settings, get(db, user, dataset_id))


def resplit(
    db: Session, settings: Settings, user: User, dataset_id: uuid.UUID, policy: SplitPolicy
) -> Dataset:
    """Assign splits anew (by ratio and seed, or a custom map). Snapshots taken before
    keep the splits they froze."""
    row = ownership.get_for_write(db, Dataset, dataset_id, user)
    if row.status != DatasetStatus.READY or not row.manifest_key:
        raise Conflict(f"Dataset is {row.status.value}, not ready", code="not_ready")
    if policy.strategy == "auto":
        raise BadRequest("Re-splitting needs strategy `ratio` or `custom`", code="bad_split")
    current = Manifest.model_validate(uploads.read_manifest(settings, row))
    drafts = [DraftImage(path=i.path, split=None, label=i.label) for i in current.images]
    problems = Problems()
    assign(drafts, policy, stratify=current.task_type == "image_classification", problems=problems)
    if problems:
        raise BadRequest(
            "The split does not fit the dataset", code="bad_split", details=problems.as_dict()
        )
    split_of = {d.path: d.split for d in drafts}
    for image in current.images:
        image.split = split_of[image.path]  # type: ignore[assignment]
    get_storage(settings).put_bytes(
        row.manifest_key, current.model_dump_json().encode(), "application/json"
    )
    row.stats = stats.compute(current)
    row.split_config = policy.model_dump()
    db.commit()
    return row
