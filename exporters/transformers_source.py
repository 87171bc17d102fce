"""The transformers source: ViT classifiers and YOLOS detectors written by
trainers/transformers_trainer.py, as a torch module to trace.

The graph takes "images" (the trainer's own preprocessing: a square resize, then the
checkpoint's mean and std) and returns plain tensors instead of a ModelOutput:
- ViT: "logits" (B, classes); vap_runtime applies the softmax.
- YOLOS: "logits" (B, queries, classes + 1; the last is "no object") and "pred_boxes"
  (B, queries, 4: cx, cy, w, h normalized to the input). vap_runtime decodes them as
  the trainer does (softmax, the no-object class left out, boxes to pixels; no NMS).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exporters.registry import SourceModel
from trainers import offline

offline.apply()  # before transformers is imported

import torch  # noqa: E402
from torch import nn  # noqa: E402


class ClassifierGraph(nn.Module):
    """ViTForImageClassification with a tensor in and the logits out."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=images).logits  # type: ignore[no-any-return]


class DetectorGraph(nn.Module):
    """YolosForObjectDetection with a tensor in and (logits, pred_boxes) out."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(pixel_values=images)
        return out.logits, out.pred_boxes


def preprocessing(size: int, mean: list[float], std: list[float]) -> dict[str, Any]:
    """torchvision's Resize((size, size)) on a PIL image, ToTensor, Normalize."""
    return {
        "resize": {"method": "resize", "size": [size, size], "interpolation": "bilinear"},
        "channel_order": "RGB",
        "scale": 1 / 255,
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
    }


def transformers_source(checkpoint: Path) -> SourceModel:
    """A checkpoint of trainers/transformers_trainer.py ready to trace.

    Raises ValueError for a file that is not such a checkpoint."""
    from trainers.transformers_trainer import load_checkpoint, model_from_checkpoint

    state = load_checkpoint(Path(checkpoint))
    model = model_from_checkpoint(state).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    size = int(state["image_size"])
    kind = state["kind"]
    module: nn.Module
    if kind == "vit":
        module = ClassifierGraph(model)
        outputs = ["logits"]
        post: dict[str, Any] = {
            "kind": "classification_softmax",
            "type": "classification",
            "activation": "softmax",
            "top_k": 5,
        }
    elif kind == "yolos":
        module = DetectorGraph(model)
        outputs = ["logits", "pred_boxes"]
        post = {
            "kind": "detr_boxes",
            "outputs": outputs,
            "score_activation": "softmax",
            "no_object_class": "last",
            "box_format": "cxcywh",
            "box_units": "normalized",
            "num_queries": int(model.config.num_detection_tokens),  # type: ignore[union-attr,arg-type]
        }
    elif kind == "segformer":  # the graph and its decoding live with the task
        from trainers.transformers_segformer import export_graph

        module, outputs, post = export_graph(model)
    else:
        raise ValueError(f"transformers export does not handle model kind {kind!r}")
    return SourceModel(
        framework="transformers",
        model_name=str(state["model_name"]),
        task_type=str(state["task_type"]),
        class_names=list(state["class_names"]),
        image_size=size,
        preprocessing=preprocessing(size, state["mean"], state["std"]),
        postprocessing=post,
        output_names=outputs,
        module=module.eval(),
        checkpoint=Path(checkpoint),
    )
