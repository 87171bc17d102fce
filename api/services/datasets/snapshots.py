"""Snapshots: a dataset frozen for a job, its manifest and the sha256 of every file.

The snapshot's JSON is written once and never changed; its own sha256 is kept in the
row. Verifying finds files that went missing or changed: such a snapshot is `broken`
and must not be trained on.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.models import Dataset, DatasetSnapshot, DatasetStatus, User
from api.errors import Conflict, NotFound
from api.services import ownership
from api.services.datasets import uploads
from api.services.storage import ObjectNotFound, get_storage
from api.settings import Settings
from contract.manifest import Manifest, Snapshot, SnapshotFile

_LISTED = 50  # missing or changed files named in the integrity report


def create(
    db: Session,
    settings: Settings,
    user: User,
    dataset: Dataset,
    snapshot_type: str = "manual",
    version_tag: str | None = None,
) -> DatasetSnapshot:
    if dataset.status != DatasetStatus.READY:
        raise Conflict(f"Dataset is {dataset.status.value}, not ready", code="not_ready")
    if version_tag and db.scalar(
        select(DatasetSnapshot.id).where(
            DatasetSnapshot.dataset_id == dataset.id, DatasetSnapshot.version_tag == version_tag
        )
    ):
        raise Conflict(f"Version tag {version_tag!r} is taken", code="tag_taken")
    manifest = Manifest.model_validate(uploads.read_manifest(settings, dataset))
    snapshot = Snapshot(
        dataset_id=str(dataset.id),
        files_prefix=f"{dataset.storage_prefix}files/",
        manifest=manifest,
        files=[SnapshotFile(path=i.path, size=i.size, sha256=i.sha256) for i in manifest.images],
    )
    body = snapshot.model_dump_json().encode()
    snapshot_id = uuid.uuid4()
    key = f"{dataset.storage_prefix}snapshots/{snapshot_id}.json"
    storage = get_storage(settings)
    storage.put_bytes(key, body, "application/json")
    row = DatasetSnapshot(
        id=snapshot_id,
        dataset_id=dataset.id,
        snapshot_type=snapshot_type,
        version_tag=version_tag,
        num_images=len(manifest.images),
        manifest_key=key,
        manifest_sha256=hashlib.sha256(body).hexdigest(),
        created_by_user_id=user.id,
    )
    db.add(row)
    try:
        db.commit()
    except IntegrityError:  # the same tag, taken a moment ago
        db.rollback()
        storage.delete(key)
        raise Conflict(f"Version tag {version_tag!r} is taken", code="tag_taken") from None
    return row


def list_for(db: Session, user: User, dataset_id: uuid.UUID) -> list[DatasetSnapshot]:
    dataset = ownership.get_for_read(db, Dataset, dataset_id, user)
    return list(
        db.scalars(
            select(DatasetSnapshot)
            .where(DatasetSnapshot.dataset_id == dataset.id)
            .order_by(DatasetSnapshot.created_at.desc(), DatasetSnapshot.id)
        )
    )


def get(db: Session, user: User, dataset_id: uuid.UUID, snapshot_id: uuid.UUID) -> DatasetSnapshot:
    dataset = ownership.get_for_read(db, Dataset, dataset_id, user)
    row = db.get(DatasetSnapshot, snapshot_id)
    if row is None or row.dataset_id != dataset.id:
        raise NotFound("Snapshot not found")
    return row


def verify(
    db: Session, settings: Settings, row: DatasetSnapshot, deep: bool = False
) -> DatasetSnapshot:
    """Check the snapshot's JSON and every file it names; mark it `valid` or `broken`.

    Shallow checks existence and size; `deep` also re-hashes every byte.
    """
    storage = get_storage(settings)
    report: dict[str, Any] = {"checked_at": datetime.now(UTC).isoformat(), "deep": deep}
    try:
        body = storage.get_bytes(row.manifest_key)
    except ObjectNotFound:
        body = b""
    if hashlib.sha256(body).hexdigest() != row.manifest_sha256:
        report |= {"snapshot_file": "missing or changed", "missing_count": 0, "changed_count": 0}
        return _mark(db, row, report, broken=True)
    snapshot = Snapshot.model_validate_json(body)
    missing: list[str] = []
    changed: list[str] = []
    for f in snapshot.files:
        key = snapshot.files_prefix + f.path
        try:
            size = storage.stat(key).size
        except ObjectNotFound:
            missing.append(f.path)
            continue
        if size != f.size or (deep and _sha256(storage, key) != f.sha256):
            changed.append(f.path)
    report |= {
        "files": len(snapshot.files),
        "missing_count": len(missing),
        "missing": missing[:_LISTED],
        "changed_count": len(changed),
        "changed": changed[:_LISTED],
    }
    return _mark(db, row, report, broken=bool(missing or changed))


def _sha256(storage: Any, key: str) -> str:
    digest = hashlib.sha256()
    with storage.open_read(key) as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _mark(
    db: Session, row: DatasetSnapshot, report: dict[str, Any], broken: bool
) -> DatasetSnapshot:
    row.status = "broken" if broken else "valid"
    row.integrity_status = report
    db.commit()
    return row
