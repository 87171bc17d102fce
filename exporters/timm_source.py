"""The timm source: a timm checkpoint as a `SourceModel` (the Ultralytics and transformers
sources live in exporters/ultralytics_source.py and exporters/transformers_source.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exporters.registry import SourceModel


def _resize_preprocessing(size: int, mean: list[float], std: list[float]) -> dict[str, Any]:
    return {
        "resize": {"method": "resize", "size": [size, size], "interpolation": "bilinear"},
        "channel_order": "RGB",
        "scale": 1 / 255,
        "mean": list(mean),
        "std": list(std),
    }


def timm_source(checkpoint: Path) -> SourceModel:
    from trainers.timm_trainer import load_checkpoint, model_from_checkpoint

    state = load_checkpoint(checkpoint)
    model = model_from_checkpoint(state).eval()
    size = int(state["image_size"])
    return SourceModel(
        framework="timm",
        model_name=state["model_name"],
        task_type=state["task_type"],
        class_names=list(state["class_names"]),
        image_size=size,
        preprocessing=_resize_preprocessing(size, state["mean"], state["std"]),
        postprocessing={
            "kind": "classification_softmax",
            "type": "classification",
            "activation": "softmax",
            "top_k": 5,
        },
        output_names=["logits"],
        module=model,
        checkpoint=checkpoint,
    )
