"""Our training config (contract/training_config.py) as Ultralytics `train()` arguments.

Ultralytics has its own names and defaults for everything; this is the one place that
maps ours onto them, so a config means the same on every framework as far as
Ultralytics allows (it has no step schedule: "step" decays linearly, see `_schedule`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contract import catalog
from contract.training_config import TrainingConfig

TASKS = {
    "object_detection": "detect",
    "instance_segmentation": "segment",
    "pose_estimation": "pose",
    "image_classification": "classify",
}

_OPTIMIZERS = {"adamw": "AdamW", "adam": "Adam", "sgd": "SGD"}

# Ultralytics' augmentation knobs per level; "standard" is Ultralytics' own default.
_AUGMENT: dict[str, dict[str, Any]] = {
    "none": {
        "hsv_h": 0.0,
        "hsv_s": 0.0,
        "hsv_v": 0.0,
        "degrees": 0.0,
        "translate": 0.0,
        "scale": 0.0,
        "shear": 0.0,
        "perspective": 0.0,
        "flipud": 0.0,
        "fliplr": 0.0,
        "mixup": 0.0,
        "copy_paste": 0.0,
        "erasing": 0.0,
        "auto_augment": None,
    },
    "light": {
        "hsv_h": 0.005,
        "hsv_s": 0.3,
        "hsv_v": 0.2,
        "degrees": 0.0,
        "translate": 0.05,
        "scale": 0.2,
        "fliplr": 0.5,
        "mixup": 0.0,
        "copy_paste": 0.0,
        "erasing": 0.0,
        "auto_augment": None,
    },
    "standard": {
        "hsv_h": 0.015,
        "hsv_s": 0.7,
        "hsv_v": 0.4,
        "translate": 0.1,
        "scale": 0.5,
        "fliplr": 0.5,
        "erasing": 0.4,
        "auto_augment": "randaugment",
    },
    "heavy": {
        "hsv_h": 0.02,
        "hsv_s": 0.8,
        "hsv_v": 0.5,
        "degrees": 10.0,
        "translate": 0.2,
        "scale": 0.7,
        "shear": 2.0,
        "fliplr": 0.5,
        "mixup": 0.15,
        "copy_paste": 0.1,
        "erasing": 0.4,
        "auto_augment": "randaugment",
    },
}


def image_size(model_name: str, config: TrainingConfig) -> int:
    """The square input size: the config's, else the catalog's default for the model."""
    if config.image_size:
        return config.image_size
    info = catalog.find("ultralytics", model_name)
    return info.default_image_size if info is not None else 640


def _schedule(config: TrainingConfig) -> dict[str, Any]:
    scheduler = config.scheduler
    if scheduler == "none":
        return {"cos_lr": False, "lrf": 1.0}  # a constant learning rate
    if scheduler == "cosine":
        return {"cos_lr": True, "lrf": 0.01}
    return {"cos_lr": False, "lrf": 0.01}  # linear; Ultralytics has no step schedule


def train_args(
    model_name: str,
    task_type: str,
    config: TrainingConfig,
    data: Path,
    save_dir: Path,
    device: str,
) -> dict[str, Any]:
    """Keyword arguments for `YOLO(...).train()` (also what a resumed run's checkpoint
    gets written into, so a resumed run trains with the same settings)."""
    augmentation = config.augmentation
    args: dict[str, Any] = {
        "data": str(data),
        "task": TASKS[task_type],
        "epochs": config.epochs,
        "batch": config.batch_size,
        "imgsz": image_size(model_name, config),
        "optimizer": _OPTIMIZERS[config.optimizer],
        "lr0": config.learning_rate,
        "weight_decay": config.weight_decay,
        "warmup_epochs": float(config.warmup_epochs),
        "seed": config.seed,
        "deterministic": True,
        # Early stopping is ours (on our primary metric), not Ultralytics' fitness.
        "patience": 0,
        "amp": config.mixed_precision and device == "cuda",
        "device": "0" if device == "cuda" else "cpu",
        "workers": 0,
        "project": str(save_dir.parent),
        "name": save_dir.name,
        "save_dir": str(save_dir),
        "exist_ok": True,
        "plots": False,
        "val": True,
        "save": True,
        "verbose": False,
        "cache": False,
        **_schedule(config),
        **_AUGMENT[augmentation],
    }
    if task_type != "image_classification":
        args["mosaic"] = 0.0 if augmentation == "none" else config.mosaic
    return args
