"""Training a tiny model in-process for tests that need a real checkpoint (exporters)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contract.manifest import Manifest
from contract.training_config import validate
from trainers.base import EpochResult, TrainRequest, get_trainer


class RecordingHooks:
    """Trainer hooks that never stop the run and keep every epoch's result."""

    def __init__(self) -> None:
        self.epochs: list[EpochResult] = []

    def should_stop(self) -> bool:
        return False

    def progress(self, epoch: int, batch: int, batches: int, metrics: dict[str, float]) -> None:
        pass

    def epoch_end(self, result: EpochResult) -> None:
        self.epochs.append(result)


def train_checkpoint(
    framework: str,
    model: str,
    manifest: Manifest,
    files: Path,
    work: Path,
    epoch: int | None = None,
    **config: Any,
) -> Path:
    """Train `model` from scratch on `manifest` with `config`; the checkpoint of `epoch`
    (1-based; default the last)."""
    full = validate(framework, manifest.task_type, {"pretrained": False} | config)
    hooks = RecordingHooks()
    get_trainer(framework).train(
        TrainRequest(model, manifest.task_type, manifest, files, full, work), hooks
    )
    return hooks.epochs[-1 if epoch is None else epoch - 1].checkpoint


def timm_val_batch(manifest: Manifest, data: Path, state: dict[str, Any]) -> tuple[Any, list[Path]]:
    """Every val image, preprocessed exactly as the timm trainer evaluates: (N,3,H,W), paths."""
    import torch
    from PIL import Image

    from trainers.classification_data import build_transform, split_entries

    transform = build_transform(state["image_size"], "none", False, state["mean"], state["std"])
    paths = [data / e.path for e in split_entries(manifest, "val")]
    x = torch.stack([transform(Image.open(p).convert("RGB")) for p in paths])
    return x.numpy(), paths
