"""S3-compatible storage through boto3: AWS S3, Cloudflare R2, MinIO, SeaweedFS.

This is the only module that imports boto3; `get_storage` imports it only when the S3
backend is configured, so `import api.main` stays light.
"""

from __future__ import annotations

import builtins
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from api.services.storage.base import (
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    Storage,
    StorageError,
    content_disposition,
    sorted_parts,
    validate_key,
    validate_part_number,
    validate_prefix,
)
from api.settings import Settings

MiB = 1024 * 1024
_DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes
_NOT_FOUND = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
_REFUSED = {"403", "AccessDenied", "Forbidden", "SignatureDoesNotMatch", "InvalidAccessKeyId"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Storage(Storage):
    """Objects in one bucket of an S3-compatible service; URLs presigned with SigV4."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bucket = settings.s3_bucket
        # Named in error messages; credentials never are.
        self.where = settings.s3_endpoint_url or "AWS S3"
        # "auto" suits R2 and most self-hosted servers; on AWS it means "boto3's default".
        region = settings.s3_region
        if not settings.s3_endpoint_url and region == "auto":
            region = ""
        self.region = region
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url or None,
            # Empty keys fall back to boto3's own chain (environment, instance role).
            aws_access_key_id=settings.s3_access_key_id or None,
            aws_secret_access_key=settings.s3_secret_access_key or None,
            region_name=region or None,
            config=Config(
                signature_version="s3v4",
                # Path style works on every S3-compatible server and needs no wildcard DNS.
                s3={"addressing_style": "path"},
                # R2 rejects the CRC32 checksums recent boto3 sends by default.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
            ),
        )
        threshold = settings.s3_multipart_threshold_mb * MiB
        self._transfer = TransferConfig(
            multipart_threshold=threshold, multipart_chunksize=threshold
        )
        self._bucket_ready = not settings.s3_create_bucket
        self._bucket_lock = threading.Lock()

    # --- plumbing ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, action: str, key: str | None = None) -> Iterator[None]:
        """Turn boto3's errors into ours: missing object -> ObjectNotFound, else StorageError."""
        try:
            yield
        except ClientError as exc:
            code = _code(exc)
            if code in _NOT_FOUND and code != "NoSuchBucket" and key is not None:
                raise ObjectNotFound(key) from exc
            if code in _NOT_FOUND:
                raise StorageError(
                    f"S3 bucket {self.bucket!r} does not exist at {self.where}"
                ) from exc
            if code in _REFUSED:
                raise StorageError(
                    f"S3 at {self.where} refused to {action} ({code}): check the access key, "
                    f"secret and permissions on bucket {self.bucket!r}"
                ) from exc
            message = exc.response.get("Error", {}).get("Message", "")
            raise StorageError(f"S3 at {self.where} could not {action}: {code} {message}") from exc
        except (BotoCoreError, Boto3Error) as exc:
            # Unreachable endpoint, timeouts, missing credentials, failed transfers.
            raise StorageError(f"S3 at {self.where} could not {action}: {exc}") from exc
        except OSError as exc:  # local files of put_file / download_file
            raise StorageError(f"Could not {action}: {exc}") from exc

    def _ready(self) -> Any:
        """The client, once the bucket is known to exist (created once when configured so)."""
        if not self._bucket_ready:
            with self._bucket_lock:
                if not self._bucket_ready:
                    self._create_bucket()
                    self._bucket_ready = True
        return self._client

    def _create_bucket(self) -> None:
        with self._errors(f"create bucket {self.bucket!r}"):
            try:
                self._client.head_bucket(Bucket=self.bucket)
                return
            except ClientError as exc:
                if _code(exc) not in _NOT_FOUND:
                    raise
            kwargs: dict[str, Any] = {}
            if not self.settings.s3_endpoint_url and self.region not in ("", "us-east-1"):
                # AWS wants the region named everywhere but its default one.
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            # Another process may create it between our HEAD and CREATE.
            with contextlib.suppress(self._client.exceptions.BucketAlreadyOwnedByYou):
                self._client.create_bucket(Bucket=self.bucket, **kwargs)

    def _expiry(self, expires_in: int | None) -> int:
        return expires_in if expires_in is not None else self.settings.signed_url_expire_seconds

    def _presign(self, method: str, params: dict[str, Any], expires_in: int | None) -> str:
        with self._errors(f"presign {method}"):
            url: str = self._ready().generate_presigned_url(
                method, Params={"Bucket": self.bucket, **params}, ExpiresIn=self._expiry(expires_in)
            )
            return url

    # --- objects -----------------------------------------------------------------------

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        validate_key(key)
        extra = {"ContentType": content_type} if content_type else {}
        with self._errors(f"write {key!r}"):
            self._ready().put_object(Bucket=self.bucket, Key=key, Body=data, **extra)

    def put_file(
        self, key: str, src: str | Path | BinaryIO, content_type: str | None = None
    ) -> None:
        validate_key(key)
        # Above the threshold boto3 uploads in parallel parts of that size.
        extra = {"ContentType": content_type} if content_type else None
        with self._errors(f"write {key!r}"):
            client = self._ready()
            if isinstance(src, str | Path):
                client.upload_file(
                    str(src), self.bucket, key, ExtraArgs=extra, Config=self._transfer
                )
            else:
                client.upload_fileobj(src, self.bucket, key, ExtraArgs=extra, Config=self._transfer)

    def get_bytes(self, key: str) -> bytes:
        with self.open_read(key) as body, self._errors(f"read {key!r}", key):
            return body.read()

    def open_read(self, key: str) -> BinaryIO:
        validate_key(key)
        with self._errors(f"read {key!r}", key):
            response = self._ready().get_object(Bucket=self.bucket, Key=key)
        return cast(BinaryIO, response["Body"])  # botocore's StreamingBody is an IOBase

    def download_file(self, key: str, dest: str | Path) -> None:
        validate_key(key)
        with self._errors(f"download {key!r}", key):
            Path(dest).parent.mkdir(parents=True, exist_ok=True)
            # s3transfer writes a temp file beside dest and renames it: dest appears whole.
            self._ready().download_file(self.bucket, key, str(dest), Config=self._transfer)

    def copy(self, src: str, dest: str) -> None:
        validate_key(src)
        validate_key(dest)
        with self._errors(f"copy {src!r}", src):
            # Managed copy: one CopyObject, or parts above 5 GB.
            self._ready().copy({"Bucket": self.bucket, "Key": src}, self.bucket, dest,
                               Config=self._transfer)  # fmt: skip

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except ObjectNotFound:
            return False
        return True

    def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        with self._errors(f"stat {key!r}", key):
            head = self._ready().head_object(Bucket=self.bucket, Key=key)
        return ObjectInfo(key=key, size=int(head["ContentLength"]))

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        validate_prefix(prefix)
        with self._errors(f"list {prefix!r}"):
            pages = self._ready().get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    yield ObjectInfo(key=obj["Key"], size=int(obj["Size"]))

    def delete(self, key: str) -> None:
        validate_key(key)
        with self._errors(f"delete {key!r}"):
            self._ready().delete_object(Bucket=self.bucket, Key=key)

    def delete_prefix(self, prefix: str) -> int:
        if not prefix:
            raise InvalidKey("delete_prefix needs a non-empty prefix")
        count = 0
        batch: builtins.list[str] = []
        for info in self.list(prefix):
            batch.append(info.key)
            if len(batch) == _DELETE_BATCH:
                count += self._delete_batch(batch)
                batch = []
        if batch:
            count += self._delete_batch(batch)
        return count

    def _delete_batch(self, keys: builtins.list[str]) -> int:
        with self._errors(f"delete {len(keys)} objects"):
            response = self._ready().delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
            )
        if errors := response.get("Errors"):
            first = errors[0]
            raise StorageError(
                f"S3 at {self.where} could not delete {len(errors)} objects; "
                f"first {first.get('Key')!r}: {first.get('Code')} {first.get('Message', '')}"
            )
        return len(keys)

    # --- presigned URLs ----------------------------------------------------------------

    def presign_get(
        self, key: str, expires_in: int | None = None, filename: str | None = None
    ) -> str:
        validate_key(key)
        params: dict[str, Any] = {"Key": key}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        return self._presign("get_object", params, expires_in)

    def presign_put(
        self, key: str, expires_in: int | None = None, content_type: str | None = None
    ) -> str:
        validate_key(key)
        params: dict[str, Any] = {"Key": key}
        if content_type:
            params["ContentType"] = content_type  # signed: the upload must send the same
        return self._presign("put_object", params, expires_in)

    # --- multipart ---------------------------------------------------------------------

    def create_multipart_upload(self, key: str, content_type: str | None = None) -> str:
        validate_key(key)
        extra = {"ContentType": content_type} if content_type else {}
        with self._errors(f"start an upload to {key!r}"):
            response = self._ready().create_multipart_upload(Bucket=self.bucket, Key=key, **extra)
        return str(response["UploadId"])

    def presign_upload_part(
        self, key: str, upload_id: str, part_number: int, expires_in: int | None = None
    ) -> str:
        validate_key(key)
        validate_part_number(part_number)
        params = {"Key": key, "UploadId": upload_id, "PartNumber": part_number}
        return self._presign("upload_part", params, expires_in)

    def complete_multipart_upload(
        self, key: str, upload_id: str, parts: builtins.list[dict]
    ) -> None:
        validate_key(key)
        listed = [{"PartNumber": n, "ETag": f'"{etag}"'} for n, etag in sorted_parts(parts)]
        # No ObjectNotFound here: an unknown upload is a StorageError, as on the local backend.
        with self._errors(f"complete the upload to {key!r}"):
            self._ready().complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": listed}
            )

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        validate_key(key)
        with self._errors(f"abort the upload to {key!r}"):
            try:
                self._ready().abort_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id
                )
            except ClientError as exc:
                if _code(exc) not in ("NoSuchUpload", "404"):
                    raise

    # --- health ------------------------------------------------------------------------

    def check(self) -> None:
        with self._errors(f"reach bucket {self.bucket!r}"):
            self._ready().head_bucket(Bucket=self.bucket)
