"""What the transformers trainer's tasks on per-image annotations share (YOLOS on boxes,
SegFormer on masks): every image of a split, class ids mapped to the model's by name,
and a single-process loader whose shuffle draws from its own seeded generator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from contract.manifest import ImageEntry, Manifest
from trainers.classification_data import label_map_by_name


class AnnotatedTask:
    """The entries, loader and label map of a task; subclasses give its `dataset` (and a
    `collate` when a batch is not a stack of equal tensors)."""

    collate: Callable[[list[Any]], Any] | None = None

    def dataset(
        self, entries: list[ImageEntry], data_dir: Path, state: dict[str, Any], train: bool,
        augmentation: str, label_map: dict[int, int] | None,
    ) -> Dataset:  # type: ignore[type-arg]  # fmt: skip
        raise NotImplementedError

    def entries(self, manifest: Manifest, split: str) -> list[ImageEntry]:
        return [e for e in manifest.images if e.split == split]

    def loader(
        self, entries: list[ImageEntry], data_dir: Path, state: dict[str, Any], train: bool,
        augmentation: str, batch_size: int, seed: int, pin: bool,
        label_map: dict[int, int] | None = None,
    ) -> DataLoader:  # type: ignore[type-arg]  # fmt: skip
        dataset = self.dataset(entries, data_dir, state, train, augmentation, label_map)
        generator = torch.Generator()
        generator.manual_seed(seed)
        return DataLoader(
            dataset, batch_size=batch_size, shuffle=train, num_workers=0, generator=generator,
            pin_memory=pin, collate_fn=self.collate,
        )  # fmt: skip

    def label_map(
        self, manifest: Manifest, entries: list[ImageEntry], classes: list[str]
    ) -> dict[int, int]:
        used = {a.class_id for e in entries for a in e.annotations}
        return label_map_by_name(manifest.classes, classes, used)
