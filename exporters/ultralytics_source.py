"""The Ultralytics source: YOLO detection, segmentation, pose and classification
checkpoints (trainers/ultralytics_trainer.py) as a torch module to trace.

We trace the model ourselves rather than run Ultralytics' exporter, so every format of
ours (ONNX here, TorchScript and OpenVINO beside it) gets the same graph and one runtime
reads them all. The graph is what Ultralytics' exporter produces without its NMS option:
Conv and BatchNorm fused, the head in export mode, so it outputs
- detect: "predictions" (B, 4 + classes, anchors): cx, cy, w, h in input pixels, then
  sigmoid class scores;
- segment: the same plus 32 mask coefficients per anchor, and "protos" (B, 32, H/4, W/4);
- pose: the same plus keypoints (x, y in input pixels, sigmoid visibility) per anchor;
- classify: "probabilities" (B, classes), softmax applied, in our class order.
Non-maximum suppression, masks and letterboxing are vap_runtime's, described in
metadata.json (letterbox with OpenCV's resize, as Ultralytics' predictor, so the two
agree to the pixel).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from exporters.registry import SourceModel
from trainers import offline

offline.apply()  # before Ultralytics is imported

import torch  # noqa: E402
from torch import nn  # noqa: E402

LETTERBOX_FILL = 114  # Ultralytics' padding grey
_OUTPUTS = {
    "object_detection": ["predictions"],
    "instance_segmentation": ["predictions", "protos"],
    "pose_estimation": ["predictions"],
    "image_classification": ["probabilities"],
}
_KINDS = {
    "object_detection": "yolo_detect",
    "instance_segmentation": "yolo_segment",
    "pose_estimation": "yolo_pose",
    "image_classification": "classification_probabilities",
}


class YoloGraph(nn.Module):
    """A fused YOLO model whose head is in export mode: a tuple of tensors out, in the
    order of the source's output names; classifier probabilities in our class order."""

    def __init__(self, model: nn.Module, class_order: list[int] | None = None) -> None:
        super().__init__()
        self.model = model
        self.reorder = class_order is not None
        # our class id k is model output order[k]
        self.register_buffer(
            "order", torch.tensor(class_order or [], dtype=torch.long), persistent=False
        )

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(images)
        outputs = tuple(out) if isinstance(out, (list, tuple)) else (out,)
        if self.reorder:
            outputs = (outputs[0].index_select(1, self.order),)
        return outputs


def _export_mode(model: Any) -> Any:
    """A fused, eval-mode copy with the heads set as Ultralytics' exporter sets them
    (without its NMS): the head returns its decoded output alone."""
    from ultralytics.nn.modules.head import Classify, Detect

    model = copy.deepcopy(model).float().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    model = model.fuse(verbose=False)
    for m in model.modules():
        if isinstance(m, Classify):
            _set(m, export=True, format="onnx")
        elif isinstance(m, Detect):
            if getattr(m, "end2end", False):
                raise ValueError("end-to-end (NMS-free) YOLO heads are not exported yet")
            # shape=None: the anchors are recomputed for the traced input
            _set(m, export=True, format="onnx", dynamic=False, xyxy=False, shape=None)
    return model


def _set(module: nn.Module, **attributes: Any) -> None:
    for name, value in attributes.items():
        setattr(module, name, value)


def _class_order(names: dict[int, str], class_names: list[str], task_type: str) -> list[int] | None:
    """For a classifier: the model output of each of our class ids (Ultralytics sorts
    class folders by name); None when the orders agree, as for the other tasks."""
    if task_type != "image_classification":
        return None
    ours = [class_names.index(names[i]) for i in range(len(names))]  # model i -> ours
    order = [ours.index(k) for k in range(len(class_names))]
    return None if order == list(range(len(class_names))) else order


def preprocessing(task_type: str, size: int) -> dict[str, Any]:
    """What Ultralytics' predictor does to an image, for vap_runtime."""
    common: dict[str, Any] = {
        "channel_order": "RGB",
        "scale": 1 / 255,
        "mean": [0.0] * 3,
        "std": [1.0] * 3,
    }
    if task_type == "image_classification":
        # torchvision's Resize(size) on a PIL image, then CenterCrop(size)
        resize: dict[str, Any] = {
            "method": "resize_shorter_center_crop",
            "size": [size, size],
            "interpolation": "bilinear",
        }
    else:
        resize = {
            "method": "letterbox",
            "size": [size, size],
            "interpolation": "bilinear_half_pixel",  # cv2.resize INTER_LINEAR
            "fill_value": LETTERBOX_FILL,
            "center": True,
        }
    return {"resize": resize, **common}


def postprocessing(task_type: str, head: nn.Module | None, class_count: int) -> dict[str, Any]:
    kind = _KINDS[task_type]
    if task_type == "image_classification":
        return {"kind": kind, "type": "classification", "activation": None, "top_k": 5}
    post: dict[str, Any] = {
        "kind": kind,
        "outputs": _OUTPUTS[task_type],
        "layout": "(batch, 4 + classes + extra, anchors)",
        "box_format": "cxcywh",
        "box_units": "input_pixels",
        "score_activation": "sigmoid",
        "nms": "class_aware",
        "num_classes": class_count,
    }
    if task_type == "instance_segmentation":
        post["mask_coefficients"] = int(getattr(head, "nm", 32))
        post["mask_threshold"] = 0.0  # on the combined prototype logits
    if task_type == "pose_estimation":
        post["keypoint_shape"] = [int(v) for v in head.kpt_shape]  # type: ignore[union-attr]
    return post


def ultralytics_source(checkpoint: Path) -> SourceModel:
    """A checkpoint of trainers/ultralytics_trainer.py ready to trace.

    Raises ValueError for a file that is not such a checkpoint, or an end-to-end head."""
    from ultralytics.nn.modules.head import Detect

    from trainers.ultralytics_infer import load_model, read_meta

    meta = read_meta(checkpoint)
    task_type = str(meta["task_type"])
    if task_type not in _KINDS:
        raise ValueError(f"Ultralytics export does not handle {task_type}")
    yolo = load_model(Path(checkpoint), task_type)
    class_names = list(meta["class_names"])
    size = int(meta["image_size"])
    model = _export_mode(yolo.model)
    head = next((m for m in model.modules() if isinstance(m, Detect)), None)
    order = _class_order(dict(yolo.model.names), class_names, task_type)
    post = postprocessing(task_type, head, len(class_names))
    if task_type == "pose_estimation" and meta.get("keypoints"):
        post["keypoint_names"] = list(meta["keypoints"].get("names") or [])
    return SourceModel(
        framework="ultralytics",
        model_name=str(meta["model_name"]),
        task_type=task_type,
        class_names=class_names,
        image_size=size,
        preprocessing=preprocessing(task_type, size),
        postprocessing=post,
        output_names=_OUTPUTS[task_type],
        module=YoloGraph(model, order).eval(),
        checkpoint=Path(checkpoint),
    )
