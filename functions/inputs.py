"""Fetching a job's inputs: the dataset snapshot and its files, weights, checkpoints.

Files are kept in a content-addressed cache (by sha256) shared by every job on the
machine, so a retry, a second attempt or the next job on the same data downloads
nothing; every byte is checked against the snapshot's sha256 before it is used (a
snapshot names exactly the bytes a job trains on). The job's data folder is made of
hard links into the cache.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from contract.checksums import sha256_of
from contract.jobs import JobSpec
from contract.manifest import Snapshot
from functions import transfers
from functions.client import JobClient
from functions.retries import check, retried

_PARALLEL = 8


class InputError(Exception):
    """An input could not be fetched or does not match its checksum."""


def cache_dir() -> Path:
    base = os.environ.get("VAP_CACHE_DIR") or str(Path.home() / ".cache" / "vap")
    path = Path(base) / "files"
    path.mkdir(parents=True, exist_ok=True)
    return path


def download(url: str, dest: Path, sha256: str | None = None) -> Path:
    """GET `url` into `dest` (atomically), retrying transient failures; InputError when
    the bytes do not hash to `sha256`."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    where = f"GET {url.split('?')[0]}"

    def attempt() -> Path:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out, transfers.http().stream("GET", url, timeout=120) as r:
                if check(r).status_code >= 400:
                    raise InputError(f"{where}: {r.status_code}")
                for chunk in r.iter_bytes(1024 * 1024):
                    out.write(chunk)
            if sha256 and sha256_of(Path(tmp)) != sha256:
                raise InputError(f"{dest.name}: its bytes do not match the snapshot's sha256")
            os.replace(tmp, dest)
            return dest
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    return retried(attempt, where, InputError)


def _cached(url: str, sha256: str) -> Path:
    path = cache_dir() / sha256[:2] / sha256
    if not path.exists():
        download(url, path, sha256)
    return path


def _link(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:  # another filesystem
        shutil.copyfile(src, dest)


def fetch_snapshot(client: JobClient, into: Path) -> Snapshot:
    """The job's snapshot, with every file it names under `into` (same relative paths)."""
    url = client.spec.inputs.get("snapshot")
    if not url:
        raise InputError("The job spec names no dataset snapshot")
    raw = download(url, into / ".snapshot.json")
    snapshot = Snapshot.model_validate_json(raw.read_text())
    files_dir = into / "files"
    offset, total = 0, None
    with ThreadPoolExecutor(_PARALLEL) as pool:
        while total is None or offset < total:
            page = client.input_files(offset)
            total = page["total"]
            if not page["files"]:
                break
            done = pool.map(lambda f: (f, _cached(f["url"], f["sha256"])), page["files"])
            for f, cached in done:
                _link(cached, files_dir / f["path"])
            offset += len(page["files"])
    return snapshot


def fetch(client: JobClient, name: str, dest: Path) -> Path | None:
    """The input `name` (weights, checkpoint, image:...) downloaded to `dest`, or None when
    the spec has no such input."""
    url = client.spec.inputs.get(name)
    return download(url, dest) if url else None


def fetch_checkpoint(client: JobClient, dest: Path) -> Path:
    """The checkpoint a test run or an inference job loads; InputError when the spec
    names none."""
    found = fetch(client, "checkpoint", dest)
    if found is None:
        raise InputError("The job spec names no checkpoint")
    return found


def device(spec: JobSpec) -> str:
    """Where this worker computes: "cuda" when a GPU is visible, else "cpu". A job that
    asked for a GPU never runs on the CPU: InputError when this worker sees none."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if spec.resources.gpu:
        raise InputError(
            f"The job asked for a GPU ({spec.resources.gpu}) and this worker sees none "
            "(is the runner's GPU runtime set up?); it will not run on the CPU instead"
        )
    return "cpu"
