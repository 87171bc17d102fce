"""Assigning images to train/val/test: the dataset's own splits, a deterministic split
by ratio and seed (stratified by class for classification), or a custom assignment.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, model_validator

if TYPE_CHECKING:  # the schema is part of the API's request models: keep it light
    from api.services.datasets.formats.base import DraftImage
    from api.services.datasets.problems import Problems


class SplitPolicy(BaseModel):
    # auto: the dataset's own splits where it has them, the ratios for the rest
    # ratio: the ratios for every image, ignoring the dataset's own splits
    # custom: `assignments` names the split of every image (by path)
    strategy: Literal["auto", "ratio", "custom"] = "auto"
    train: float = Field(default=0.8, ge=0, le=1)
    val: float = Field(default=0.2, ge=0, le=1)
    test: float = Field(default=0.0, ge=0, le=1)
    seed: int = 42
    assignments: dict[str, Literal["train", "val", "test"]] | None = None

    @model_validator(mode="after")
    def _check(self) -> SplitPolicy:
        if abs(self.train + self.val + self.test - 1) > 1e-6:
            raise ValueError("train, val and test ratios must add up to 1")
        if self.train <= 0:
            raise ValueError("the train ratio must be above 0")
        if self.strategy == "custom" and not self.assignments:
            raise ValueError("a custom split needs `assignments`: {image path: split}")
        return self


def _counts(n: int, policy: SplitPolicy) -> tuple[int, int]:
    """(val, test) image counts for n images: the largest-remainder split of n by the
    ratios, keeping at least one training image."""
    shares = {"train": n * policy.train, "val": n * policy.val, "test": n * policy.test}
    counts = {k: math.floor(v) for k, v in shares.items()}
    # Ties go to train, then val, then test (dict order).
    by_remainder = sorted(shares, key=lambda k: -(shares[k] - counts[k]))
    for k in by_remainder[: n - sum(counts.values())]:
        counts[k] += 1
    while counts["train"] < 1 and n > 0:
        k = "test" if counts["test"] >= counts["val"] else "val"
        counts[k] -= 1
        counts["train"] += 1
    return counts["val"], counts["test"]


def _by_ratio(images: list[DraftImage], policy: SplitPolicy, stratify: bool) -> None:
    groups: dict[object, list[DraftImage]] = defaultdict(list)
    for image in images:
        groups[image.label if stratify else None].append(image)
    # Shuffle each class on its own (seeded by the seed and the class: adding a class does
    # not reshuffle the others), then interleave them by relative position, so cutting
    # the whole list at the split counts takes every class in proportion.
    ranked: list[tuple[float, str, DraftImage]] = []
    for key in sorted(groups, key=str):
        members = sorted(groups[key], key=lambda i: i.path)
        random.Random(f"{policy.seed}/{key}").shuffle(members)
        ranked += [((i + 0.5) / len(members), str(key), m) for i, m in enumerate(members)]
    ranked.sort(key=lambda t: (t[0], t[1]))
    n_val, n_test = _counts(len(ranked), policy)
    for i, (_, _, image) in enumerate(ranked):
        image.split = "val" if i < n_val else "test" if i < n_val + n_test else "train"


def assign(
    images: list[DraftImage], policy: SplitPolicy, stratify: bool, problems: Problems
) -> None:
    """Set every image's split in place, following `policy`; deterministic for a seed."""
    if policy.strategy == "custom":
        assignments = policy.assignments or {}
        for image in images:
            split = assignments.get(image.path)
            if split is None:
                problems.add(
                    image.path,
                    "the custom split does not assign this image",
                    code="unassigned_image",
                )
            else:
                image.split = split
        unknown = set(assignments) - {i.path for i in images}
        for path in sorted(unknown)[:20]:
            problems.add(
                path,
                "the custom split names an image that is not in the dataset",
                code="unknown_image",
            )
        return
    if policy.strategy == "ratio":
        _by_ratio(images, policy, stratify)
        return
    unassigned = [i for i in images if i.split is None]
    if len(unassigned) == len(images):
        _by_ratio(images, policy, stratify)
        return
    if unassigned:
        _by_ratio(unassigned, policy, stratify)
    if policy.val > 0 and not any(i.split == "val" for i in images):
        # Own splits with no validation images: carve them out of train.
        train = [i for i in images if i.split == "train"]
        _by_ratio(
            train,
            SplitPolicy(train=1 - policy.val, val=policy.val, test=0, seed=policy.seed),
            stratify,
        )
