"""What a conversation may refer to: the datasets the user may read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from api.db.models import Dataset, User
from api.services import ownership

# The prompt (and the rules' fuzzy matching) sees at most this many datasets, the
# user's own first: enough for a person, bounded for a prompt.
MAX_DATASETS = 100
MAX_CLASS_NAMES = 30


@dataclass(frozen=True)
class DatasetInfo:
    id: str
    name: str
    task_type: str | None
    status: str
    num_images: int = 0
    class_names: list[str] = field(default_factory=list)
    own: bool = True

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    def for_prompt(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "task_type": self.task_type,
            "status": self.status,
            "num_images": self.num_images,
            "classes": self.class_names,
        }


def readable_datasets(db: Session, user: User) -> list[DatasetInfo]:
    """The datasets `user` may read (ownership.visible_to: own, public, all for admins),
    own first, newest first."""
    mine = Dataset.owner_id == user.id
    query = ownership.visible_to(user, Dataset).order_by(
        mine.desc(), Dataset.created_at.desc(), Dataset.id
    )
    rows = db.scalars(query.limit(MAX_DATASETS))
    return [
        DatasetInfo(
            id=str(d.id),
            name=d.name,
            task_type=d.task_type,
            status=d.status.value,
            num_images=d.num_images,
            class_names=[str(c) for c in (d.class_names or [])[:MAX_CLASS_NAMES]],
            own=d.owner_id == user.id,
        )
        for d in rows
    ]


def by_id(datasets: list[DatasetInfo]) -> dict[str, DatasetInfo]:
    return {d.id: d for d in datasets}


def parse_id(value: object) -> str | None:
    """`value` as a canonical UUID string, or None when it is not one."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None
