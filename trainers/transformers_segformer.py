"""Semantic segmentation with SegFormer: the transformers adapter's task for model kind
"segformer" (data, loss, measure, export graph).

The dataset's masks reach the trainer inside the normalized manifest, as COCO-Stuff
stores semantic labels: per image, one non-crowd annotation per class present whose RLE
marks that class's pixels. Pixels no annotation covers (crowd annotations included) are
void, IGNORE_INDEX (255), as in Pascal VOC, ADE20K and mmsegmentation masks: never
trained on, never counted.

Images are resized to a square `image_size` (bilinear, as the exported runtime does) and
masks with nearest-neighbour, so every pixel keeps a class of its own. SegFormer's
logits come at a quarter of the input's resolution: the loss (cross-entropy, void
ignored) reads them upsampled bilinearly to the input size, as the model's own loss
does; so does the exported graph, whose "logits" output is (B, classes, size, size).
The measure (trainers/metrics/semantic.py: per-class IoU, mIoU, pixel accuracy) and
`predict` take the best class per input pixel and map it back to each image's own
pixels (nearest neighbour, vap_runtime's `labels_at_image`), so the figures count the
pixels a test run, an inference job and the exported model count.

Augmentation (training only): none: resize; light: + horizontal flip (image and mask
together); standard and heavy: + colour jitter of the image.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

from contract.manifest import ImageEntry
from contract.predictions import ImagePrediction, SemanticMask
from trainers.annotated_task import AnnotatedTask
from trainers.base import EvalReport
from trainers.classification_data import load_rgb
from trainers.metrics.semantic import (
    IGNORE_INDEX,
    class_map,
    confusion,
    decode_rle,
    image_result,
    semantic_report,
)
from trainers.optim import autocast
from vap_runtime.model import encode_mask, labels_at_image

__all__ = ["SemanticSegmentation", "class_map", "decode_rle", "export_graph"]

POSTPROCESSING_KIND = "semantic_mask"


# --- data ----------------------------------------------------------------------------------


class SemanticImages(Dataset):  # type: ignore[type-arg]
    """(image tensor, (size, size) int64 class map, index) per manifest entry."""

    def __init__(
        self, entries: list[ImageEntry], data_dir: Path, image_size: int, augmentation: str,
        train: bool, mean: list[float], std: list[float], label_map: dict[int, int] | None,
    ) -> None:  # fmt: skip
        self.entries, self.data_dir, self.size = entries, data_dir, image_size
        self.flip = train and augmentation != "none"
        self.jitter = (
            T.ColorJitter(0.2, 0.2, 0.2)
            if train and augmentation in ("standard", "heavy")
            else None
        )
        self.label_map = label_map
        self.normalize = T.Compose([T.ToTensor(), T.Normalize(mean=mean, std=std)])

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        entry = self.entries[index]
        size = (self.size, self.size)
        image = load_rgb(self.data_dir / entry.path).resize(size, Image.Resampling.BILINEAR)
        mask = Image.fromarray(class_map(entry, self.label_map)).resize(
            size, Image.Resampling.NEAREST
        )
        if self.flip and random.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            mask = mask.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if self.jitter is not None:
            image = self.jitter(image)
        return self.normalize(image), torch.from_numpy(np.asarray(mask, np.int64)), index


def upsampled_logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """SegFormer's logits at the input's size (B, classes, H, W)."""
    logits = model(pixel_values=x).logits
    return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)


# --- the task ------------------------------------------------------------------------------


class SemanticSegmentation(AnnotatedTask):
    """SegFormer on manifest masks; the transformers trainer's task for kind "segformer"."""

    def dataset(
        self, entries: list[ImageEntry], data_dir: Path, state: dict[str, Any], train: bool,
        augmentation: str, label_map: dict[int, int] | None,
    ) -> SemanticImages:  # fmt: skip
        return SemanticImages(
            entries, data_dir, int(state["image_size"]), augmentation, train,
            list(state["mean"]), list(state["std"]), label_map,
        )  # fmt: skip

    @staticmethod
    def loss(
        model: nn.Module, batch: Any, device: torch.device, criterion: nn.Module
    ) -> tuple[torch.Tensor, int]:
        # `criterion` (the trainer's classification loss, with label smoothing) is not
        # used: void pixels must be ignored, which it does not do.
        x, y, _ = batch
        logits = upsampled_logits(model, x.to(device, non_blocking=True))
        target = y.to(device, non_blocking=True)
        return F.cross_entropy(logits.float(), target, ignore_index=IGNORE_INDEX), int(x.shape[0])

    @torch.inference_mode()
    def measure(
        self, model: nn.Module, loader: DataLoader, entries: list[ImageEntry],  # type: ignore[type-arg]
        classes: list[str], device: torch.device, amp: bool, keep_images: bool = False,
        label_map: dict[int, int] | None = None,
    ) -> EvalReport:  # fmt: skip
        """mIoU and the rest over every pixel of the split, at each image's own size."""
        model.eval()
        n = len(classes)
        total = np.zeros((n, n), np.int64)
        per_image: list[dict[str, Any]] = []
        for x, _, indices in loader:
            with autocast(device, amp):
                logits = upsampled_logits(model, x.to(device, non_blocking=True))
            best = logits.float().argmax(dim=1).cpu().numpy()
            for i, index in enumerate(indices.tolist()):
                entry = entries[index]
                truth = class_map(entry, label_map)
                predicted = at_image(best[i], entry.width, entry.height)
                total += confusion(truth, predicted, n)
                if keep_images:
                    per_image.append(image_result(entry, truth, predicted, classes))
        return semantic_report(total, classes, per_image if keep_images else None)

    @torch.inference_mode()
    def predict(
        self, model: nn.Module, pictures: list[Image.Image], names: list[str],
        state: dict[str, Any], device: torch.device, confidence: float, top_k: int,
    ) -> list[ImagePrediction]:  # fmt: skip
        """Each picture's mask at its own size (`confidence` and `top_k` do not apply)."""
        model.eval()
        size = int(state["image_size"])
        classes = list(state["class_names"])
        normalize = T.Compose([T.ToTensor(), T.Normalize(mean=state["mean"], std=state["std"])])
        x = torch.stack(
            [normalize(p.resize((size, size), Image.Resampling.BILINEAR)) for p in pictures]
        )
        best = upsampled_logits(model, x.to(device)).float().argmax(dim=1).cpu().numpy()
        return [
            ImagePrediction(
                image_id=name,
                width=p.width,
                height=p.height,
                mask=SemanticMask.model_validate(
                    encode_mask(at_image(b, p.width, p.height), classes)
                ),
            )  # fmt: skip
            for name, p, b in zip(names, pictures, best, strict=True)
        ]


def at_image(best: np.ndarray, width: int, height: int) -> np.ndarray:
    """A (size, size) map of the model's input as the (height, width) map of the image
    that was resized into it."""
    rows, cols = best.shape
    return labels_at_image(best, width, height, cols / width, rows / height)


# --- export --------------------------------------------------------------------------------


class SegmenterGraph(nn.Module):
    """SegformerForSemanticSegmentation with a tensor in and the logits, upsampled to the
    input's size, out."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return upsampled_logits(self.model, images)


def export_graph(model: nn.Module) -> tuple[nn.Module, list[str], dict[str, Any]]:
    """The graph to trace, its outputs and vap_runtime's postprocessing: the argmax class
    per pixel, mapped to the image's own size (nearest), returned as a PNG mask."""
    post = {
        "kind": POSTPROCESSING_KIND,
        "outputs": ["logits"],
        "layout": "NCHW",
        "mask_encoding": "png_base64",
    }
    return SegmenterGraph(model), ["logits"], post
