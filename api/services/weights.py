"""The pretrained-weights registry: files users upload because hubs are out of reach.

A weights file is stored at `weights/{id}/{file name}`. Its bytes are checked before
anything is kept, without torch (the API never imports it): a `.safetensors` file must
have a well-formed header whose tensors fill the data exactly; a `.pt`, `.pth` or `.bin`
must be what `torch.save` writes (a zip archive holding `*/data.pkl`, or a legacy
pickle). An upload refused with a 4xx leaves no row and no object.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import uuid
import zipfile
from pathlib import PurePosixPath
from typing import Any, BinaryIO, cast

from sqlalchemy import String
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from api.db.models import PretrainedWeight, User, Visibility
from api.errors import Forbidden, PayloadTooLarge, ServiceUnavailable, Unprocessable
from api.roles import ROLE_RANK, UserRole
from api.schemas.common import Page, PageParams
from api.schemas.weights import WeightDownload, WeightMeta, WeightRead, WeightUpdate
from api.services import ownership
from api.services.pagination import paginate
from api.services.storage import Storage, StorageError, get_storage
from api.services.uploaded_files import safe_name
from api.settings import Settings
from contract import catalog

GiB = 1024**3
MAX_BYTES = 2 * GiB
SAFETENSORS = ".safetensors"
TORCH_SUFFIXES = (".pt", ".pth", ".bin")
_CHUNK = 1024 * 1024
_SAFETENSORS_MAX_HEADER = 100_000_000  # the safetensors library's own limit
# Bits per element of every dtype the safetensors format names.
_DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
    "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32, "C64": 64,
    "I64": 64, "U64": 64, "F64": 64,
}  # fmt: skip


# --- reading and listing ---------------------------------------------------------------


def readable(db: Session, user: User, weight_id: uuid.UUID) -> PretrainedWeight:
    """The weights if `user` may read them (own, public, or any for an admin); NotFound
    otherwise, exactly as for a missing id."""
    return ownership.get_for_read(db, PretrainedWeight, weight_id, user)


def available(db: Session, user: User) -> set[tuple[str, str]]:
    """The (framework, base_architecture) pairs of every weights file `user` may read."""
    query = ownership.visible_to(user, PretrainedWeight).with_only_columns(
        PretrainedWeight.framework, PretrainedWeight.base_architecture
    )
    return {(framework, arch) for framework, arch in db.execute(query.distinct())}


def list_for(
    db: Session,
    user: User,
    page: PageParams,
    *,
    framework: str | None = None,
    base_architecture: str | None = None,
    task_type: str | None = None,
    visibility: str | None = None,
) -> Page[WeightRead]:
    """Weights `user` may read (their own and public ones), newest first, filtered."""
    query = ownership.visible_to(user, PretrainedWeight)
    if framework:
        query = query.where(PretrainedWeight.framework == framework)
    if base_architecture:
        query = query.where(PretrainedWeight.base_architecture == base_architecture)
    if task_type:
        # As text, on PostgreSQL (JSONB) and SQLite (JSON) alike: a task is a quoted string.
        as_text = sql_cast(PretrainedWeight.task_types, String)
        query = query.where(as_text.contains(f'"{task_type}"', autoescape=True))
    if visibility:
        query = query.where(PretrainedWeight.visibility == Visibility(visibility))
    return paginate(
        db, query, page, WeightRead, PretrainedWeight.created_at.desc(), PretrainedWeight.id
    )


def download(db: Session, settings: Settings, user: User, weight_id: uuid.UUID) -> WeightDownload:
    """A presigned URL that GETs the file, counted as one download."""
    row = readable(db, user, weight_id)
    expires_in = settings.signed_url_expire_seconds
    try:
        url = get_storage(settings).presign_get(
            row.storage_key, expires_in, filename=PurePosixPath(row.storage_key).name
        )
    except StorageError as exc:
        raise ServiceUnavailable(f"Storage could not sign the download: {exc}") from exc
    answer = WeightDownload(url=url, expires_in=expires_in, checksum_sha256=row.checksum_sha256)
    # In SQL, so concurrent downloads each count.
    row.download_count = PretrainedWeight.download_count + 1
    db.commit()
    return answer


# --- changing --------------------------------------------------------------------------


def update(db: Session, user: User, weight_id: uuid.UUID, data: WeightUpdate) -> PretrainedWeight:
    """Rename, describe, publish or unpublish. Forbidden: someone else's public weights,
    or publishing below the manager role."""
    row = ownership.get_for_write(db, PretrainedWeight, weight_id, user)
    changes = data.model_dump(exclude_unset=True)
    if "visibility" in changes:
        _check_may_publish(user, changes["visibility"])
        changes["visibility"] = Visibility(changes["visibility"])
    for field, value in changes.items():
        setattr(row, field, value)
    db.commit()
    return row


def delete(db: Session, settings: Settings, user: User, weight_id: uuid.UUID) -> None:
    """Remove the weights and their stored file (owner or admin). Jobs that started from
    them keep running; they lose only the link."""
    row = ownership.get_for_write(db, PretrainedWeight, weight_id, user)
    db.delete(row)
    db.flush()
    try:
        get_storage(settings).delete(row.storage_key)
    except StorageError as exc:
        db.rollback()
        raise ServiceUnavailable(f"Storage could not delete the file: {exc}") from exc
    db.commit()


def _check_may_publish(user: User, visibility: str) -> None:
    if visibility == Visibility.PUBLIC and ROLE_RANK[user.role] < ROLE_RANK[UserRole.MANAGER]:
        raise Forbidden(
            "Publishing weights needs the manager role or higher", code="publish_forbidden"
        )


# --- uploading -------------------------------------------------------------------------


def create_from_upload(
    db: Session,
    settings: Settings,
    user: User,
    meta: WeightMeta,
    filename: str,
    stream: BinaryIO,
) -> PretrainedWeight:
    """Check, store and register one uploaded weights file.

    `stream` must be seekable (FastAPI's UploadFile.file is). Forbidden when publishing
    below the manager role; Unprocessable for a model outside the catalog or tasks it
    does not do (`validation_error`), and for bytes that are not weights of the kind the
    extension says (`invalid_weights`); PayloadTooLarge above MAX_BYTES. In all of these
    nothing is kept.
    """
    _check_may_publish(user, meta.visibility)
    task_types = _task_types(meta)
    suffix = _suffix(filename)
    size = stream.seek(0, 2)
    if size == 0:
        raise _invalid_weights("The file is empty")
    if size > MAX_BYTES:
        raise PayloadTooLarge(
            f"Weights files are limited to {MAX_BYTES // GiB} GiB", code="upload_too_large"
        )
    extra = inspect(stream, size, suffix)
    weight_id = uuid.uuid4()
    row = PretrainedWeight(
        id=weight_id,
        owner_id=user.id,
        organization_id=user.organization_id,
        visibility=Visibility(meta.visibility),
        name=meta.name,
        description=meta.description,
        framework=meta.framework,
        base_architecture=meta.base_architecture,
        task_types=task_types,
        pretraining_dataset=meta.pretraining_dataset,
        num_classes=meta.num_classes,
        storage_key=f"weights/{weight_id}/{safe_name(filename, 'weights')}",
        extra=extra,
    )
    storage = get_storage(settings)
    stream.seek(0)
    reader = _HashingReader(stream)
    try:
        # Backends only read() a stream, so one pass stores, hashes and counts the bytes.
        storage.put_file(row.storage_key, cast(BinaryIO, reader), "application/octet-stream")
    except StorageError as exc:
        _forget(storage, row.storage_key)
        raise ServiceUnavailable(f"Storage failed while saving the weights: {exc}") from exc
    row.size_bytes = reader.size
    row.checksum_sha256 = reader.sha256.hexdigest()
    db.add(row)
    try:
        db.commit()
    except Exception:
        db.rollback()
        _forget(storage, row.storage_key)
        raise
    return row


def _task_types(meta: WeightMeta) -> list[str]:
    """The tasks the weights serve: the catalog model's, or the subset the user names."""
    model = catalog.find(meta.framework, meta.base_architecture)
    if model is None:
        if meta.framework not in catalog.FRAMEWORKS:
            raise _invalid_field("framework", f"must be one of {', '.join(catalog.FRAMEWORKS)}")
        raise _invalid_field(
            "base_architecture",
            f"{meta.base_architecture!r} is not a {meta.framework} model in the catalog "
            "(GET /api/v1/models)",
        )
    if meta.task_types is None:
        return list(model.task_types)
    wrong = [t for t in meta.task_types if t not in model.task_types]
    if wrong or not meta.task_types:
        raise _invalid_field(
            "task_types", f"{model.name} does {', '.join(model.task_types)}, not {wrong or '[]'}"
        )
    return list(dict.fromkeys(meta.task_types))


def _suffix(filename: str) -> str:
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if suffix != SAFETENSORS and suffix not in TORCH_SUFFIXES:
        known = ", ".join((*TORCH_SUFFIXES, SAFETENSORS))
        raise _invalid_weights(f"{filename!r}: weights files are {known}")
    return suffix


def _forget(storage: Storage, key: str) -> None:
    """Best effort: the answer is already an error, and a second one would hide it."""
    with contextlib.suppress(StorageError):
        storage.delete(key)


class _HashingReader:
    """A read-only stream over `source` that hashes and counts what is read through it."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._source.read(n)
        self.sha256.update(data)
        self.size += len(data)
        return data


def _invalid_field(field: str, message: str) -> Unprocessable:
    return Unprocessable(
        f"{field}: {message}",
        code="validation_error",
        details=[{"loc": [field], "msg": message, "type": "value_error"}],
    )


def _invalid_weights(message: str) -> Unprocessable:
    return Unprocessable(message, code="invalid_weights")


# --- what the bytes are ----------------------------------------------------------------


def inspect(stream: BinaryIO, size: int, suffix: str) -> dict[str, Any]:
    """What the file of `size` bytes holds (`format`, and for safetensors `tensors` and
    `parameters`), reading only headers. Unprocessable (`invalid_weights`) when its bytes
    are not weights of the kind `suffix` (".safetensors", ".pt", ".pth", ".bin") says."""
    stream.seek(0)
    if suffix == SAFETENSORS:
        return _inspect_safetensors(stream, size)
    return _inspect_torch(stream)


def _inspect_safetensors(stream: BinaryIO, size: int) -> dict[str, Any]:
    head = stream.read(8)
    if len(head) < 8:
        raise _invalid_weights("Not a safetensors file: shorter than its 8-byte header length")
    header_len = int.from_bytes(head, "little")
    if header_len > size - 8:
        raise _invalid_weights(
            f"Not a safetensors file (or a truncated one): its header is {header_len} bytes "
            f"long, the file {size}"
        )
    if not 2 <= header_len <= _SAFETENSORS_MAX_HEADER:
        raise _invalid_weights(f"Not a safetensors file: header length {header_len}")
    try:
        header = json.loads(stream.read(header_len).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _invalid_weights(f"Not a safetensors file: its header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise _invalid_weights("Not a safetensors file: its header is not a JSON object")
    data_len = size - 8 - header_len
    spans: list[tuple[int, int, str]] = []
    parameters = 0
    dtypes: set[str] = set()
    for name, info in header.items():
        if name == "__metadata__":
            if info is not None and not isinstance(info, dict):
                raise _invalid_weights("safetensors: __metadata__ is not an object")
            continue
        numel, begin, end = _tensor_entry(name, info, data_len)
        spans.append((begin, end, name))
        parameters += numel
        dtypes.add(info["dtype"])
    # As the safetensors library requires: tensors tile the data, no gap, no overlap.
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise _invalid_weights(f"safetensors: tensor {name!r} does not start where expected")
        position = end
    if position != data_len:
        raise _invalid_weights(
            f"safetensors: the tensors hold {position} bytes, the file has {data_len} "
            "(truncated or padded)"
        )
    return {
        "format": "safetensors",
        "tensors": len(spans),
        "parameters": parameters,
        "dtypes": sorted(dtypes),
    }


def _tensor_entry(name: str, info: Any, data_len: int) -> tuple[int, int, int]:
    """(element count, begin, end) of one header entry, checked."""

    def bad(why: str) -> Unprocessable:
        return _invalid_weights(f"safetensors: tensor {name!r}: {why}")

    if not isinstance(info, dict):
        raise bad("not an object")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in _DTYPE_BITS:
        raise bad(f"unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise bad("shape is not a list of sizes")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_is_count(o) for o in offsets)
        or not offsets[0] <= offsets[1] <= data_len
    ):
        raise bad(f"data_offsets {offsets!r} are not within the {data_len} bytes of data")
    numel = math.prod(shape)
    expected = (numel * _DTYPE_BITS[dtype] + 7) // 8
    if offsets[1] - offsets[0] != expected:
        raise bad(f"{dtype} {shape} needs {expected} bytes, its offsets span {offsets}")
    return numel, offsets[0], offsets[1]


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _inspect_torch(stream: BinaryIO) -> dict[str, Any]:
    head = stream.read(4)
    if head == b"PK\x03\x04":
        stream.seek(0)
        try:
            with zipfile.ZipFile(stream) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
            raise _invalid_weights(f"Not a torch.save file: a broken zip archive ({exc})") from None
        pickles = [n for n in names if n.count("/") == 1 and n.endswith("/data.pkl")]
        if not pickles:
            raise _invalid_weights("Not a torch.save file: a zip archive without */data.pkl")
        record = pickles[0].split("/")[0]
        storages = sum(1 for n in names if n.startswith(f"{record}/data/"))
        return {"format": "torch_zip", "storages": storages}
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return {"format": "torch_pickle"}
    raise _invalid_weights(
        "Not a torch.save file: neither a zip archive nor a pickle (safetensors files "
        "must be named .safetensors)"
    )
