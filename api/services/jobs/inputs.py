"""What a function reads, as presigned URLs: built afresh for every attempt (URLs expire,
and a retry started by the reconciler must find its inputs as the first attempt did).

- `snapshot`: the pinned dataset snapshot's JSON (manifest + sha256 of every file); the
  files themselves are paged through `GET /api/v1/jobs/{id}/inputs/files`, so a spec
  stays small whatever the dataset's size.
- `weights`: the pretrained-weights file a training job starts from.
- `checkpoint`: the training checkpoint a test run or an inference job loads.
- `image:<name>`: each uploaded image of an inference job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from api.db.models import DatasetSnapshot, PretrainedWeight
from api.errors import NotFound
from api.services.jobs.kinds import spec_of
from api.services.jobs.kinds.base import JobRow
from api.services.storage import get_storage
from api.settings import Settings
from contract.manifest import Snapshot

MAX_FILES_PAGE = 1000


def _snapshot_url(db: Session, storage: Any, job: Any) -> dict[str, str]:
    row = db.get(DatasetSnapshot, job.dataset_snapshot_id) if job.dataset_snapshot_id else None
    return {"snapshot": storage.presign_get(row.manifest_key)} if row is not None else {}


def _weights_url(db: Session, storage: Any, job: Any) -> dict[str, str]:
    weight = (
        db.get(PretrainedWeight, job.pretrained_weight_id) if job.pretrained_weight_id else None
    )
    return {"weights": storage.presign_get(weight.storage_key)} if weight is not None else {}


def _checkpoint_url(db: Session, storage: Any, job: Any) -> dict[str, str]:
    return {"checkpoint": storage.presign_get(job.checkpoint_key)} if job.checkpoint_key else {}


def _image_urls(db: Session, storage: Any, job: Any) -> dict[str, str]:
    return {f"image:{key.rsplit('/', 1)[-1]}": storage.presign_get(key)
            for key in job.image_keys or []}  # fmt: skip


# Each input a kind may declare (JobKindSpec.inputs), by name.
BUILDERS: dict[str, Callable[[Session, Any, Any], dict[str, str]]] = {
    "snapshot": _snapshot_url,
    "weights": _weights_url,
    "checkpoint": _checkpoint_url,
    "images": _image_urls,
}


def for_job(db: Session, settings: Settings, job: JobRow) -> dict[str, str]:
    """The presigned URLs of the inputs `job`'s kind declares (those it has)."""
    storage = get_storage(settings)
    inputs: dict[str, str] = {}
    for name in spec_of(job).inputs:
        inputs |= BUILDERS[name](db, storage, job)
    return inputs


_SNAPSHOTS: dict[tuple[str, str], Snapshot] = {}


def _snapshot(storage: Any, key: str, sha256: str) -> Snapshot:
    """Snapshots never change once written (their sha256 is in the cache key), so a
    worker paging through one costs one read of it per process."""
    cached = _SNAPSHOTS.get((key, sha256))
    if cached is None:
        if len(_SNAPSHOTS) >= 8:
            _SNAPSHOTS.clear()
        cached = _SNAPSHOTS[(key, sha256)] = Snapshot.model_validate_json(storage.get_bytes(key))
    return cached


def snapshot_files(
    db: Session, settings: Settings, job: Any, offset: int, limit: int
) -> dict[str, Any]:
    """A page of the job's snapshot files with a presigned GET URL each."""
    snapshot_id = getattr(job, "dataset_snapshot_id", None)
    row = db.get(DatasetSnapshot, snapshot_id) if snapshot_id else None
    if row is None:
        raise NotFound("This job reads no dataset snapshot")
    storage = get_storage(settings)
    snapshot = _snapshot(storage, row.manifest_key, row.manifest_sha256)
    page = snapshot.files[offset : offset + min(limit, MAX_FILES_PAGE)]
    return {
        "total": len(snapshot.files),
        "offset": offset,
        "files": [
            {
                "path": f.path,
                "size": f.size,
                "sha256": f.sha256,
                "url": storage.presign_get(snapshot.files_prefix + f.path),
            }
            for f in page
        ],
    }
