"""Precise, capped lists of what is wrong with a dataset: file, where in it, and why."""

from __future__ import annotations

from collections import Counter
from typing import Any

MAX_LISTED = 200  # enough to fix a dataset by; the count says how many there are in all


class Problems:
    def __init__(self, cap: int = MAX_LISTED) -> None:
        self.cap = cap
        self.count = 0
        self.listed: list[dict[str, Any]] = []
        self.by_reason: Counter[str] = Counter()

    def add(self, file: str | None, reason: str, where: str | None = None, code: str = "") -> None:
        """Record a problem: `file` (relative path), `where` in it (line 3, object 2), why."""
        self.count += 1
        self.by_reason[code or reason] += 1
        if len(self.listed) < self.cap:
            entry: dict[str, Any] = {"file": file, "reason": reason}
            if where is not None:
                entry["where"] = where
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
