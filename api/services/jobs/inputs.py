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

from typing import Any

from sqlalchemy.orm import Session

from api.db.models import DatasetSnapshot, PretrainedWeight
from api.errors import NotFound
from api.services.storage import get_storage
from api.settings import Settings
from contract.manifest import Snapshot

MAX_FILES_PAGE = 1000


def for_job(db: Session, settings: Settings, job: Any) -> dict[str, str]:
    storage = get_storage(settings)
    inputs: dict[str, str] = {}
    snapshot_id = getattr(job, "dataset_snapshot_id", None)
    if snapshot_id is not None:
        row = db.get(DatasetSnapshot, snapshot_id)
        if row is not None:
            inputs["snapshot"] = storage.presign_get(row.manifest_key)
    weight_id = getattr(job, "pretrained_weight_id", None)
    if weight_id is not None:
        weight = db.get(PretrainedWeight, weight_id)
        if weight is not None:
            inputs["weights"] = storage.presign_get(weight.storage_key)
    checkpoint = getattr(job, "checkpoint_key", None)
    if checkpoint:
        inputs["checkpoint"] = storage.presign_get(checkpoint)
    for key in getattr(job, "image_keys", None) or []:
        inputs[f"image:{key.rsplit('/', 1)[-1]}"] = storage.presign_get(key)
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
