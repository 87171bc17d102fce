"""The one interface every framework adapter implements, and the registry that finds them.

A framework names its adapter in its facts (contract/frameworks/<framework>.py,
`trainer = "trainers.timm_trainer:TimmTrainer"`); `get_trainer("timm")` imports that
module on first use (so a worker that trains timm never imports Ultralytics). Adding a
framework is its facts module and its adapter, never a switch here.

The function (`functions/train.py`) owns everything outside the framework: it downloads
the data, reports over callbacks, uploads checkpoints (flagging the best epoch's for
best.ckpt, on the adapter's word) and stops on cancel. An adapter owns the model and its
training; the torch adapters (timm, transformers) hand theirs to the one loop,
`trainers/loop.py`, and supply only model, data, loss and measurement:

- `train` runs epochs `start_epoch..epochs`, and after each one validates, decides
  whether the epoch is the run's best (contract/best_epoch.py), writes ONE checkpoint
  file that holds everything needed to resume (weights, optimizer, scheduler, epoch,
  RNG state, early-stopping state, class names, model name, image size) and calls
  `hooks.epoch_end`. It checks `hooks.should_stop()` between batches and returns
  within one batch when it says so.
- `evaluate` and `predict` load such a checkpoint (on any machine) and answer in the
  shapes of `contract/predictions.py` and `trainers/metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from contract import frameworks
from contract.manifest import Manifest
from contract.predictions import ImagePrediction
from contract.training_config import TrainingConfig


@dataclass
class TrainRequest:
    model_name: str
    task_type: str
    manifest: Manifest  # classes, splits, labels; paths relative to `data_dir`
    data_dir: Path
    config: TrainingConfig  # complete and valid (contract/training_config.parse)
    workdir: Path  # scratch space of this attempt; checkpoints are written here
    device: str = "cpu"  # "cpu" or "cuda"
    pretrained_weights: Path | None = None  # a registry file (.pt/.pth/.safetensors)
    resume_from: Path | None = None  # a checkpoint this adapter wrote; continue after it

    def __post_init__(self) -> None:
        # A config as a job row or a JobSpec stores it (training_config.validate's dict)
        # is read into the typed model here, once, so no trainer casts a value.
        if not isinstance(self.config, TrainingConfig):
            self.config = TrainingConfig.model_validate(self.config)


@dataclass
class EvalReport:
    """A model measured on a labelled split (trainers/metrics computes it)."""

    primary_metric: str  # e.g. "accuracy", "mAP50-95"
    primary_value: float
    direction: str  # "maximize" | "minimize"
    metrics: dict[str, float]
    per_class: list[dict[str, Any]] = field(default_factory=list)
    confusion_matrix: list[list[int]] | None = None
    pr_curves: dict[str, Any] | None = None
    # Per image: prediction, truth, and their comparison (test runs keep these).
    images: list[dict[str, Any]] | None = None


@dataclass
class EpochResult:
    epoch: int  # 1-based: the epoch just finished
    total_epochs: int
    train_metrics: dict[str, float]  # e.g. loss, lr
    validation: EvalReport
    checkpoint: Path  # the resume point written for this epoch
    seconds: float  # wall time of the epoch (training and validation)
    images_seen: int  # training images processed in this epoch
    # Whether this epoch's primary metric is the run's best so far (contract/best_epoch.py's
    # rule, counting epochs of earlier attempts): decided here, once, and reported as is,
    # so the function copies the checkpoint to best.ckpt without asking the API.
    is_best: bool = False


class TrainHooks(Protocol):
    def should_stop(self) -> bool:
        """True once the job was cancelled or the worker is being shut down."""

    def progress(self, epoch: int, batch: int, batches: int, metrics: dict[str, float]) -> None:
        """Within an epoch (called every batch; the function throttles what it sends)."""

    def epoch_end(self, result: EpochResult) -> None:
        """After each epoch's validation and checkpoint; uploads and reports it."""


@dataclass
class TrainOutcome:
    epochs_run: int  # the last epoch finished (counting epochs of earlier attempts)
    stopped_early: bool = False  # early stopping ended the run
    cancelled: bool = False  # hooks.should_stop() ended the run


class Trainer(Protocol):
    framework: str

    def train(self, request: TrainRequest, hooks: TrainHooks) -> TrainOutcome: ...

    def evaluate(
        self,
        checkpoint: Path,
        manifest: Manifest,
        data_dir: Path,
        split: str,
        device: str = "cpu",
        keep_images: bool = False,
    ) -> EvalReport: ...

    def predict(
        self,
        checkpoint: Path,
        images: list[Path],
        device: str = "cpu",
        confidence: float = 0.25,
        top_k: int = 5,
    ) -> list[ImagePrediction]: ...

    def explain(
        self,
        checkpoint: Path,
        image: Path,
        out: Path,
        class_id: int | None = None,
        device: str = "cpu",
    ) -> Path:
        """Classification only: a Grad-CAM overlay PNG for `class_id` (default: the
        predicted class) written to `out`. NotImplementedError for other tasks."""
        ...


def get_trainer(framework: str) -> Trainer:
    """The adapter for `framework`. KeyError when no framework of that name exists."""
    facts = frameworks.find(framework)
    if facts is None:
        raise KeyError(f"No trainer for framework {framework!r}")
    trainer: Trainer = frameworks.entry_point(facts.trainer)()
    return trainer
