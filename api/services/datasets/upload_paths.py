"""The paths an upload names (archive entries, loose files), checked in one place before
any byte of the file is written.

A path is admitted when it stays inside its folder (no absolute path, no `..`, no
control characters), is valid UTF-8, can be written by every filesystem and object
store we keep it in (each name at most 255 bytes, the whole path short enough to fit
a storage key, not absurdly deep), and collides with no other path of the same upload
(the same path twice, or a file where another path needs a folder). Anything else is
a BadRequest (400) that names the path, shortened.

Names that differ only in case or Unicode normalization are different files on Linux
and in S3, where uploads are unpacked and stored, so they are not collisions here.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from api.errors import BadRequest
from api.services.datasets.problems import quote

MAX_NAME_BYTES = 255  # one file or folder name: what ext4, XFS and most others allow
# A whole path, in UTF-8: S3 keys are at most 1024 bytes, and ours put up to about 60
# bytes before the path (datasets/{id}/original/files/).
MAX_PATH_BYTES = 900
MAX_DEPTH = 32  # folders inside folders: real datasets use a handful

# Written by operating systems and archivers, never part of a dataset.
_JUNK_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
_JUNK_DIRS = {"__MACOSX", ".git", ".ipynb_checkpoints"}
_CONTROL = re.compile(r"[\x00-\x1f]")


def safe_relative_path(name: str) -> str | None:
    """The entry's path as a clean relative POSIX path; None for junk to skip.

    BadRequest (code `unsafe_archive`) for a path that would escape the destination,
    has control characters or is not valid UTF-8; (code `name_too_long`) for one no
    filesystem or storage key can hold.
    """
    if len(name) > 2 * MAX_PATH_BYTES:  # before any work on it: a tar name may be a GB
        raise BadRequest(
            f"{quote(name)} is a path longer than {MAX_PATH_BYTES} bytes", code="name_too_long"
        )
    raw = name.replace("\\", "/")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise BadRequest(f"{quote(name)} is an absolute path", code="unsafe_archive")
    parts = [p for p in PurePosixPath(raw).parts if p not in ("", ".")]
    if ".." in parts:
        raise BadRequest(f"{quote(name)} leaves its folder", code="unsafe_archive")
    if _CONTROL.search(raw):
        raise BadRequest(f"{quote(name)} has control characters", code="unsafe_archive")
    try:
        sizes = [len(p.encode("utf-8")) for p in parts]
    except UnicodeEncodeError:  # a tar entry's bytes that were not UTF-8
        raise BadRequest(
            f"{quote(name)} is not a valid UTF-8 name", code="unsafe_archive"
        ) from None
    if not parts or parts[-1] in _JUNK_NAMES or parts[-1].startswith("._"):
        return None
    if any(p in _JUNK_DIRS for p in parts):
        return None
    if max(sizes) > MAX_NAME_BYTES:
        raise BadRequest(
            f"{quote(name)} has a name longer than {MAX_NAME_BYTES} bytes", code="name_too_long"
        )
    if sum(sizes) + len(sizes) - 1 > MAX_PATH_BYTES:
        raise BadRequest(
            f"{quote(name)} is a path longer than {MAX_PATH_BYTES} bytes", code="name_too_long"
        )
    if len(parts) > MAX_DEPTH:
        raise BadRequest(
            f"{quote(name)} lies more than {MAX_DEPTH} folders deep", code="name_too_long"
        )
    return "/".join(parts)


class UploadPaths:
    """The paths of one upload so far. `admit` each before writing its file."""

    def __init__(self) -> None:
        self.files: set[str] = set()
        self.folders: set[str] = set()

    def admit(self, name: str) -> str | None:
        """`name` as a clean relative path (see `safe_relative_path`), now taken; None
        for junk to skip. BadRequest when it is unsafe or too long, `duplicate_file`
        when the upload has it already, `path_conflict` when it is a file where another
        path has a folder, or needs a folder where another path is a file."""
        rel = safe_relative_path(name)
        if rel is None:
            return None
        if rel in self.files:
            raise BadRequest(f"{quote(rel)} is in the upload twice", code="duplicate_file")
        if rel in self.folders:
            raise BadRequest(
                f"{quote(rel)} is both a file and a folder of the upload", code="path_conflict"
            )
        parts = rel.split("/")
        folders = ["/".join(parts[:i]) for i in range(1, len(parts))]
        for folder in folders:
            if folder in self.files:
                raise BadRequest(
                    f"{quote(rel)} needs {quote(folder)} to be a folder, and it is a file",
                    code="path_conflict",
                )
        self.files.add(rel)
        self.folders.update(folders)
        return rel
