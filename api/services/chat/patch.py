"""What one message says, and how it updates a conversation's state.

A parser (rules or Claude) turns a message into a `Patch`; `apply` merges it into the
conversation's partial config and hints. Nothing here is trusted: `resolve` checks it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ModelRequest:
    """A model as the user named it: `candidates` are the catalog's (framework, name)
    pairs it may mean; `known` is False when it names something the catalog lacks."""

    text: str
    candidates: list[tuple[str, str]]
    known: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "candidates": [list(c) for c in self.candidates],
                "known": self.known}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelRequest:
        pairs = [(str(f), str(n)) for f, n in data.get("candidates", [])]
        return cls(text=str(data.get("text", "")), candidates=pairs, known=bool(data["known"]))


@dataclass
class Patch:
    dataset_id: str | None = None
    dataset_text: str | None = None  # the words that named it, for questions
    dataset_candidates: list[str] = field(default_factory=list)  # ids, when several match
    task_type: str | None = None
    framework: str | None = None
    model: ModelRequest | None = None
    preset: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (
            self.dataset_id or self.dataset_candidates or self.task_type or self.framework
            or self.model or self.preset or self.config
        )  # fmt: skip


def apply(
    partial: dict[str, Any], hints: dict[str, Any], patch: Patch
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The state after `patch`: what it names replaces what was there, the rest stays."""
    partial, hints = copy.deepcopy(partial), copy.deepcopy(hints)
    if patch.dataset_id:
        partial["dataset_id"] = patch.dataset_id
        hints.pop("datasets", None)
    elif patch.dataset_candidates:
        hints["datasets"] = {"text": patch.dataset_text, "ids": patch.dataset_candidates}
    if patch.task_type:
        partial["task_type"] = patch.task_type
    if patch.framework:
        partial["framework"] = patch.framework
    if patch.model is not None:
        # A newly named model replaces the old choice; it is resolved against the task.
        partial.pop("model_name", None)
        if not patch.framework:
            partial.pop("framework", None)
        hints["model"] = patch.model.to_json()
    if patch.preset:
        partial["preset"] = patch.preset
    if patch.config:
        partial["config"] = {**partial.get("config", {}), **patch.config}
    return partial, hints
