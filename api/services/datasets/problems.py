"""Precise, capped lists of what is wrong with a dataset: file, where in it, and why.

Everything here ends up stored on the dataset and served on every read of it, so it
is bounded whatever the upload holds: the first MAX_LISTED problems are listed, fewer
when they pass MAX_LISTED_BYTES of JSON (all are counted), each field is cut to a fixed
length, and values taken from the upload are quoted with `quote`, which never renders
a parsed structure whole.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

MAX_LISTED = 200  # enough to fix a dataset by; the count says how many there are in all
MAX_LISTED_BYTES = 32_000  # the listed problems as JSON, in all: 200 typical ones fit
MAX_REASON = 300  # characters of a problem's reason (and of its `where`)
MAX_FILE = 300  # characters of the file a problem names (longer paths lose their middle)
MAX_QUOTED = 80  # characters of one value from the upload quoted inside a reason


def shorten(text: str, limit: int) -> str:
    """`text`, or its beginning and end around an ellipsis when longer than `limit`."""
    if len(text) <= limit:
        return text
    head = (limit - 1) * 2 // 3
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]


def quote(value: object, limit: int = MAX_QUOTED) -> str:
    """A value from an upload, for a message: numbers and short strings as they are
    written (strings in quotes), long ones shortened, lists and objects only described.

    Never walks into a structure, so it is as cheap for a YAML alias bomb or a JSON
    file nested a thousand deep as for a number.
    """
    if value is None or isinstance(value, bool | int | float):
        huge = isinstance(value, int) and value.bit_length() > 200
        text = "a huge number" if huge else repr(value)
    elif isinstance(value, str):
        # Lone surrogates (names that are not UTF-8) are shown, not carried on.
        safe = value.encode("utf-8", "backslashreplace").decode("utf-8")
        text = repr(shorten(safe, max(limit - 2, 3)))
    elif isinstance(value, list | tuple):
        text = f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
    elif isinstance(value, dict):
        text = f"an object with {len(value)} key{'' if len(value) == 1 else 's'}"
    else:
        text = f"a {type(value).__name__}"
    return shorten(text, limit)


class Problems:
    def __init__(self, cap: int = MAX_LISTED) -> None:
        self.cap = cap
        self.count = 0
        self.listed: list[dict[str, Any]] = []
        self.listed_bytes = 0
        self.full = False  # once one problem does not fit, none after it is listed
        self.by_reason: Counter[str] = Counter()

    def add(self, file: str | None, reason: str, where: str | None = None, code: str = "") -> None:
        """Record a problem: `file` (relative path), `where` in it (line 3, object 2), why.

        Each is cut to its limit here; values from the upload belong in `reason` through
        `quote`, so that the cut never falls in the middle of one."""
        self.count += 1
        self.by_reason[code or "other"] += 1  # codes are a fixed set: by_code stays small
        if self.full or len(self.listed) >= self.cap:
            return
        entry: dict[str, Any] = {
            "file": None if file is None else quote_path(file),
            "reason": shorten(reason, MAX_REASON),
        }
        if where is not None:
            entry["where"] = shorten(where, MAX_REASON)
        size = len(json.dumps(entry))  # ASCII: at least the bytes it will take anywhere
        if self.listed_bytes + size > MAX_LISTED_BYTES:
            self.full = True
            return
        self.listed_bytes += size
        self.listed.append(entry)

    def __bool__(self) -> bool:
        return self.count > 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "listed": len(self.listed),
            "by_code": dict(self.by_reason.most_common()),
            "errors": self.listed,
        }


def quote_path(path: str) -> str:
    """A file's path as a problem names it: whole when it fits MAX_FILE, else its start
    and its end (the file's own name) around an ellipsis."""
    return shorten(path.encode("utf-8", "backslashreplace").decode("utf-8"), MAX_FILE)
