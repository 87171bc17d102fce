"""The torch data pipeline of every image classifier we train (timm, transformers).

Images come straight from the manifest's entries (no ImageFolder copy): one split, the
class id from the manifest, RGB whatever the file's mode. Transforms are fixed per
augmentation level, so a config means the same augmentation for every framework.
Loaders run in the training process (`num_workers=0`) and shuffle with their own
generator, so a seed fixes the order of every epoch (see `reseed`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

from contract.manifest import ImageEntry, Manifest

AUGMENTATIONS = ("none", "light", "standard", "heavy")


def load_rgb(path: Path) -> Image.Image:
    """The image as RGB (grey, palette and RGBA files too), fully read."""
    with Image.open(path) as image:
        return image.convert("RGB")


def split_entries(manifest: Manifest, split: str) -> list[ImageEntry]:
    """The manifest's labelled images of `split`, in manifest order."""
    return [e for e in manifest.images if e.split == split and e.label is not None]


def label_map_by_name(source: list[str], target: list[str], used: set[int]) -> dict[int, int]:
    """Class ids of `source` (a manifest's classes) to those of `target` (a model's), by
    name. ValueError when a class of `used` (source ids) is not among the model's."""
    by_name = {name: i for i, name in enumerate(target)}
    unknown = {source[c] for c in used} - set(by_name)
    if unknown:
        raise ValueError(f"The model does not know the classes {sorted(unknown)}")
    return {i: by_name[n] for i, n in enumerate(source) if n in by_name}


class ManifestImages(Dataset):  # type: ignore[type-arg]
    """(image tensor, class id) for each entry; paths are relative to `data_dir`.

    `label_map` renames manifest class ids (e.g. to a checkpoint's class order).
    """

    def __init__(
        self,
        entries: Sequence[ImageEntry],
        data_dir: Path,
        transform: Any,
        label_map: dict[int, int] | None = None,
    ) -> None:
        self.entries = list(entries)
        self.data_dir = Path(data_dir)
        self.transform = transform
        self.label_map = label_map

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        entry = self.entries[index]
        label = int(entry.label)  # type: ignore[arg-type]
        if self.label_map is not None:
            label = self.label_map[label]
        return self.transform(load_rgb(self.data_dir / entry.path)), label


def build_transform(
    image_size: int,
    augmentation: str,
    train: bool,
    mean: Sequence[float],
    std: Sequence[float],
) -> T.Compose:
    """Resize to a square `image_size`, augment (training only), to a normalized tensor.

    none: resize; light: + horizontal flip; standard: random resized crop (70-100% of
    the area) + flip; heavy: standard + colour jitter + a light RandAugment (2 ops,
    magnitude 7). Evaluation always uses plain resize.
    """
    if augmentation not in AUGMENTATIONS:
        raise ValueError(f"augmentation must be one of {', '.join(AUGMENTATIONS)}")
    size = (image_size, image_size)
    steps: list[Any]
    if not train or augmentation in ("none", "light"):
        steps = [T.Resize(size, antialias=True)]
    else:
        steps = [T.RandomResizedCrop(size, scale=(0.7, 1.0), antialias=True)]
    if train and augmentation != "none":
        steps.append(T.RandomHorizontalFlip())
    if train and augmentation == "heavy":
        steps += [
            T.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05),
            T.RandAugment(num_ops=2, magnitude=7),
        ]
    steps += [T.ToTensor(), T.Normalize(mean=list(mean), std=list(std))]
    return T.Compose(steps)


def make_loader(
    dataset: Dataset,  # type: ignore[type-arg]
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    pin_memory: bool = False,
) -> DataLoader:  # type: ignore[type-arg]
    """A single-process loader; shuffled ones draw their order from their own generator.

    A training batch of one image is dropped (BatchNorm cannot normalize a single
    value per channel, which is what a 1x1 feature map gives).
    """
    generator = torch.Generator()
    generator.manual_seed(seed)
    size = len(dataset)  # type: ignore[arg-type]
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=0,
        generator=generator,
        pin_memory=pin_memory,
        drop_last=shuffle and size > 1 and size % batch_size == 1,
    )


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch: a pure function of the run's seed and the epoch."""
    return (seed * 1_000_003 + epoch) % 2**31


def reseed(seed: int, epoch: int, loader: DataLoader | None = None) -> None:  # type: ignore[type-arg]
    """Seed every generator an epoch draws from (Python, numpy, torch, the loader's
    shuffle) from `seed` and `epoch`: epoch k is the same whether the run went through
    epochs 1..k-1 in this process or resumed from a checkpoint of epoch k-1."""
    s = epoch_seed(seed, epoch)
    random.seed(s)
    np.random.seed(s)
    torch.manual_seed(s)  # CPU and every CUDA device
    if loader is not None and loader.generator is not None:
        loader.generator.manual_seed(s)
