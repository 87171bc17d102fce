"""Receiving datasets: multipart uploads (an archive or many files) and direct-to-storage
multipart uploads, each unpacked, ingested and stored, or refused with nothing kept.

What is stored for a ready dataset, under `datasets/{id}/`:
  original/<name>      the upload as sent (an archive; loose files under original/files/)
  files/<path>         every image the manifest names, byte for byte
  thumbnails/<sha256>.jpg, thumbnails.json   their thumbnails (thumbnails.py)
  manifest.json        the normalized manifest
An upload refused with a 4xx leaves no row and no object; one whose content is wrong
ends as a row with status `error` and its problems, and no objects.
"""

from __future__ import annotations

import json
import math
import mimetypes
import tempfile
import uuid
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.models import Dataset, DatasetFormat, DatasetStatus, Project, User, UserRole, Visibility
from api.errors import BadRequest, Conflict, Forbidden, PayloadTooLarge, ServiceUnavailable
from api.schemas.datasets import DatasetMeta, DirectUpload, DirectUploadCreate, UploadPart
from api.services import ownership, webhooks
from api.services.datasets import archive, thumbnails
from api.services.datasets.ingest import IngestResult, ingest
from api.services.datasets.upload_paths import UploadPaths
from api.services.storage import Storage, StorageError, get_storage
from api.services.uploaded_files import safe_name, save_stream
from api.settings import Settings

MiB = 1024 * 1024
_MIN_PART = 8 * MiB  # above S3's 5 MiB floor for every part but the last
_UPLOAD_THREADS = 8


def limits(settings: Settings) -> archive.Limits:
    return archive.Limits(
        max_total_bytes=settings.dataset_max_unpacked_mb * MiB,
        max_entries=settings.dataset_max_files,
        max_ratio=settings.dataset_max_compression_ratio,
    )


def _check_quota(db: Session, settings: Settings, user: User) -> None:
    if user.role != UserRole.GUEST:
        return
    owned = (
        db.scalar(select(func.count()).select_from(Dataset).where(Dataset.owner_id == user.id)) or 0
    )
    if owned >= settings.guest_max_datasets:
        raise Forbidden(
            f"Guest accounts are limited to {settings.guest_max_datasets} dataset(s)",
            code="quota_exceeded",
        )


def _new_row(db: Session, settings: Settings, user: User, meta: DatasetMeta) -> Dataset:
    """A dataset row for `meta` (not yet committed), after the project and quota checks."""
    if meta.project_id is not None:
        # Someone else's project answers 404, exactly as a missing one.
        ownership.get_for_write(db, Project, meta.project_id, user)
    _check_quota(db, settings, user)
    dataset_id = uuid.uuid4()
    row = Dataset(
        id=dataset_id,
        owner_id=user.id,
        organization_id=user.organization_id,
        project_id=meta.project_id,
        visibility=Visibility(meta.visibility),
        name=meta.name,
        description=meta.description,
        format=DatasetFormat(meta.format) if meta.format else None,
        task_type=meta.task_type,
        split_config=meta.split.model_dump(),
        storage_prefix=f"datasets/{dataset_id}/",
        status=DatasetStatus.PROCESSING,
    )
    db.add(row)
    return row


# --- the pipeline shared by both upload paths ------------------------------------------


def _process(
    db: Session,
    settings: Settings,
    row: Dataset,
    unpacked: Path,
    files: list[str],
    original: Path | None,
    original_name: str,
) -> Dataset:
    """Ingest `unpacked`, store what a ready dataset keeps, and commit the row's outcome."""
    from api.services.datasets.splits import SplitPolicy

    result = ingest(
        unpacked,
        files,
        declared_format=row.format.value if row.format else None,
        declared_task=row.task_type,
        policy=SplitPolicy.model_validate(row.split_config or {}),
        max_pixels=settings.dataset_max_image_pixels,
        thumbnails_dir=unpacked.with_name("thumbnails"),
    )
    row.format_detection = result.detection
    if not result.ok:
        _fail(db, settings, row, result)
        return row
    storage = get_storage(settings)
    try:
        _store(storage, row, result, unpacked, files, original, original_name)
    except StorageError as exc:
        storage.delete_prefix(row.storage_prefix)
        db.rollback()
        raise ServiceUnavailable(f"Storage failed while saving the dataset: {exc}") from exc
    manifest = result.manifest
    assert manifest is not None
    row.format = DatasetFormat(manifest.source_format)
    row.task_type = manifest.task_type
    row.labeled = True
    row.num_images = len(manifest.images)
    row.num_classes = len(manifest.classes)
    row.class_names = manifest.classes
    row.stats = result.stats
    row.size_bytes = result.stats["total_bytes"]
    row.status = DatasetStatus.READY
    row.validation_errors = None
    webhooks.enqueue(db, row.owner_id, "dataset.ready", _dataset_payload(row))
    try:
        db.commit()
    except Exception:
        db.rollback()
        storage.delete_prefix(row.storage_prefix)
        raise
    return row


def _fail(db: Session, settings: Settings, row: Dataset, result: IngestResult) -> None:
    """The content is wrong: keep the row with why, and nothing in storage."""
    get_storage(settings).delete_prefix(row.storage_prefix)
    row.status = DatasetStatus.ERROR
    row.upload_id = None
    row.original_key = None
    row.validation_errors = result.problems.as_dict()
    webhooks.enqueue(db, row.owner_id, "dataset.error", _dataset_payload(row))
    db.commit()


def _dataset_payload(row: Dataset) -> dict:
    return {
        "dataset_id": str(row.id),
        "name": row.name,
        "status": row.status.value,
        "num_images": row.num_images,
        "errors": (row.validation_errors or {}).get("count", 0),
    }


def _store(
    storage: Storage,
    row: Dataset,
    result: IngestResult,
    unpacked: Path,
    files: list[str],
    original: Path | None,
    original_name: str,
) -> None:
    prefix = row.storage_prefix
    manifest = result.manifest
    assert manifest is not None
    root = unpacked / result.root if result.root else unpacked
    # Everything goes up in one pool, the original first (the largest, so that it never
    # ends last alone): no round of uploads waits for another to finish.
    originals: dict[str, tuple[Path, str | None]] = {}
    if original is not None and row.original_key is None:  # a direct upload is stored already
        row.original_key = f"{prefix}original/{original_name}"
        originals[row.original_key] = (original, None)
    elif original is None:
        row.original_key = f"{prefix}original/files/"
        originals = {f"{row.original_key}{f}": (unpacked / f, None) for f in files}
    # Typed, so that a browser shows the image a signed URL points to.
    images = {
        f"{prefix}files/{img.path}": (root / img.path, mimetypes.guess_type(img.path)[0])
        for img in manifest.images
    }
    thumbs = {
        thumbnails.key(prefix, img.sha256): (result.thumbnails[img.path], thumbnails.CONTENT_TYPE)
        for img in manifest.images
    }
    storage.put_files(
        ((key, path, kind) for key, (path, kind) in (originals | images | thumbs).items()),
        _UPLOAD_THREADS,
    )
    storage.put_bytes(thumbnails.marker_key(prefix), thumbnails.marker(), "application/json")
    # Last: a manifest in storage means every file it names is there.
    row.manifest_key = f"{prefix}manifest.json"
    storage.put_bytes(row.manifest_key, manifest.model_dump_json().encode(), "application/json")


# --- multipart form uploads ------------------------------------------------------------


def create_from_upload(
    db: Session,
    settings: Settings,
    user: User,
    meta: DatasetMeta,
    uploads: list[tuple[str, BinaryIO]],
) -> Dataset:
    """A dataset from one archive, or from many files named by their relative paths.

    BadRequest for an unsafe or unreadable upload, PayloadTooLarge past the limits,
    Forbidden over the guest quota; in all of these nothing is kept.
    """
    if not uploads:
        raise BadRequest("Send an archive or files", code="no_files")
    row = _new_row(db, settings, user, meta)
    db.flush()  # the project and quota checks passed: the id is ours
    with tempfile.TemporaryDirectory(prefix="vap-dataset-") as tmp:
        work = Path(tmp)
        unpacked = work / "unpacked"
        unpacked.mkdir()
        lim = limits(settings)
        try:
            if len(uploads) == 1 and archive.archive_kind(uploads[0][0]):
                name, stream = uploads[0]
                saved = work / "upload"
                save_stream(stream, saved, settings.dataset_max_upload_mb * MiB)
                files = archive.extract(saved, name, unpacked, lim)
                original: Path | None = saved
                original_name = safe_name(name)
            else:
                files = _save_files(uploads, unpacked, lim)
                original, original_name = None, ""
        except Exception:
            db.rollback()
            raise
        return _process(db, settings, row, unpacked, files, original, original_name)


def _save_files(uploads: list[tuple[str, BinaryIO]], dest: Path, lim: archive.Limits) -> list[str]:
    files: list[str] = []
    if len(uploads) > lim.max_entries:
        raise archive.ArchiveTooLarge(f"More than {lim.max_entries} files")
    # Every name is checked (safe, not too long, no collision) before any file is written.
    paths = UploadPaths()
    named = [(rel, stream) for name, stream in uploads if (rel := paths.admit(name)) is not None]
    total = 0
    for rel, stream in named:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        total += save_stream(stream, target, lim.max_total_bytes - total)
        files.append(rel)
    return files


# --- direct-to-storage uploads ---------------------------------------------------------


def start_direct_upload(
    db: Session, settings: Settings, user: User, req: DirectUploadCreate
) -> DirectUpload:
    """A dataset row in `uploading` and presigned URLs for every part of its archive."""
    if archive.archive_kind(req.filename) is None:
        raise BadRequest(
            f"{req.filename!r} is not a supported archive (.zip, .tar, .tar.gz, .tgz)",
            code="unsupported_archive",
        )
    if req.size_bytes > settings.dataset_max_upload_mb * MiB:
        raise PayloadTooLarge(
            f"The upload is larger than {settings.dataset_max_upload_mb} MiB",
            code="upload_too_large",
        )
    row = _new_row(db, settings, user, req)
    row.status = DatasetStatus.UPLOADING
    row.original_key = f"{row.storage_prefix}original/{safe_name(req.filename)}"
    part_size = max(_MIN_PART, math.ceil(req.size_bytes / 10_000))
    n_parts = max(1, math.ceil(req.size_bytes / part_size))
    storage = get_storage(settings)
    try:
        row.upload_id = storage.create_multipart_upload(row.original_key)
        parts = [
            UploadPart(
                part_number=n, url=storage.presign_upload_part(row.original_key, row.upload_id, n)
            )
            for n in range(1, n_parts + 1)
        ]
    except StorageError as exc:
        db.rollback()
        raise ServiceUnavailable(f"Storage could not start the upload: {exc}") from exc
    db.commit()
    return DirectUpload(
        dataset_id=row.id,
        part_size=part_size,
        parts=parts,
        expires_in=settings.signed_url_expire_seconds,
    )


def complete_direct_upload(
    db: Session, settings: Settings, user: User, dataset_id: uuid.UUID, parts: list[dict]
) -> Dataset:
    """Join the uploaded parts, then unpack and ingest the archive like a form upload."""
    row = ownership.get_for_write(db, Dataset, dataset_id, user)
    if row.status != DatasetStatus.UPLOADING or not row.upload_id or not row.original_key:
        raise Conflict(
            f"Dataset is {row.status.value}, not waiting for an upload", code="not_uploading"
        )
    storage = get_storage(settings)
    try:
        storage.complete_multipart_upload(row.original_key, row.upload_id, parts)
    except StorageError as exc:
        # The parts stay: the client may upload what is missing and complete again.
        raise BadRequest(f"Could not join the uploaded parts: {exc}", code="bad_parts") from exc
    row.upload_id = None
    row.status = DatasetStatus.PROCESSING
    db.commit()
    name = row.original_key.rsplit("/", 1)[-1]
    with tempfile.TemporaryDirectory(prefix="vap-dataset-") as tmp:
        work = Path(tmp)
        original = work / "upload"
        unpacked = work / "unpacked"
        unpacked.mkdir()
        try:
            storage.download_file(row.original_key, original)
            if original.stat().st_size > settings.dataset_max_upload_mb * MiB:
                raise PayloadTooLarge(
                    f"The upload is larger than {settings.dataset_max_upload_mb} MiB",
                    code="upload_too_large",
                )
            files = archive.extract(original, name, unpacked, limits(settings))
        except (BadRequest, PayloadTooLarge) as exc:
            # Here the row exists already: it ends in error, its upload removed.
            from api.services.datasets.problems import Problems

            problems = Problems()
            problems.add(name, exc.message, code=exc.code)
            _fail(db, settings, row, IngestResult(detection={}, problems=problems))
            return row
        return _process(db, settings, row, unpacked, files, original, name)


def abort_direct_upload(storage: Storage, row: Dataset) -> None:
    if row.upload_id and row.original_key:
        storage.abort_multipart_upload(row.original_key, row.upload_id)


def read_manifest(settings: Settings, row: Dataset) -> dict:
    if not row.manifest_key:
        raise Conflict(f"Dataset is {row.status.value}: it has no manifest", code="not_ready")
    return json.loads(get_storage(settings).get_bytes(row.manifest_key))
