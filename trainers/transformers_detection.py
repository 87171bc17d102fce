"""YOLOS's side of object detection: manifest images to the targets the model wants, and
its outputs back to `ImagePrediction`s.

Every image is resized to a square `image_size` (aspect ratio not kept): YOLOS regresses
boxes normalized to the image, (cx, cy, w, h) in [0, 1], and such boxes do not change
under a stretch, so the predictions map back to the original image by its width and
height alone, and a batch needs no padding. Crowd regions are not trained on (as DETR).

Augmentation per level (training only): none: resize; light: + horizontal flip;
standard: + flip and mild colour jitter; heavy: + a random crop (60-100% of each side;
boxes clipped to it, those losing more than 75% of their area dropped) and stronger jitter.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import transforms as T

from contract.manifest import ImageEntry
from contract.predictions import ImagePrediction, Instance
from trainers.classification_data import AUGMENTATIONS, load_rgb

MIN_KEPT_AREA = 0.25  # of a box's area, after a crop


def normalized_boxes(
    entry: ImageEntry, width: int, height: int
) -> tuple[list[int], list[list[float]]]:
    """Class ids and (x0, y0, x1, y1) boxes in [0, 1] of an entry's non-crowd annotations,
    clipped to the image; empty boxes are left out."""
    labels, boxes = [], []
    for ann in entry.annotations:
        if ann.iscrowd:
            continue
        x, y, w, h = ann.bbox
        x0, y0 = max(0.0, x / width), max(0.0, y / height)
        x1, y1 = min(1.0, (x + w) / width), min(1.0, (y + h) / height)
        if x1 > x0 and y1 > y0:
            labels.append(int(ann.class_id))
            boxes.append([x0, y0, x1, y1])
    return labels, boxes


def _crop(
    image: Image.Image, labels: list[int], boxes: list[list[float]]
) -> tuple[Image.Image, list[int], list[list[float]]]:
    """A random crop keeping 60-100% of each side, boxes clipped to it."""
    fw, fh = random.uniform(0.6, 1.0), random.uniform(0.6, 1.0)
    ox, oy = random.uniform(0.0, 1.0 - fw), random.uniform(0.0, 1.0 - fh)
    w, h = image.size
    image = image.crop((round(ox * w), round(oy * h), round((ox + fw) * w), round((oy + fh) * h)))
    kept_labels, kept = [], []
    for label, (x0, y0, x1, y1) in zip(labels, boxes, strict=True):
        cx0, cy0 = (max(x0, ox) - ox) / fw, (max(y0, oy) - oy) / fh
        cx1, cy1 = (min(x1, ox + fw) - ox) / fw, (min(y1, oy + fh) - oy) / fh
        if cx1 <= cx0 or cy1 <= cy0:
            continue
        before = (x1 - x0) * (y1 - y0)
        after = (cx1 - cx0) * fw * (cy1 - cy0) * fh
        if after >= MIN_KEPT_AREA * before:
            kept_labels.append(label)
            kept.append([cx0, cy0, cx1, cy1])
    return image, kept_labels, kept


class DetectionImages(Dataset):  # type: ignore[type-arg]
    """(image tensor, target, index) per entry; the target is what YOLOS's loss reads:
    {"class_labels": (n,) int64, "boxes": (n, 4) float (cx, cy, w, h) in [0, 1]}.

    `label_map` renames manifest class ids (e.g. to a checkpoint's class order)."""

    def __init__(
        self,
        entries: Sequence[ImageEntry],
        data_dir: Path,
        image_size: int,
        augmentation: str,
        train: bool,
        mean: Sequence[float],
        std: Sequence[float],
        label_map: dict[int, int] | None = None,
    ) -> None:
        if augmentation not in AUGMENTATIONS:
            raise ValueError(f"augmentation must be one of {', '.join(AUGMENTATIONS)}")
        self.entries = list(entries)
        self.data_dir = Path(data_dir)
        self.augmentation = augmentation if train else "none"
        self.label_map = label_map
        jitter: dict[str, Any] = {
            "standard": dict(brightness=0.2, contrast=0.2, saturation=0.2),
            "heavy": dict(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.05),
        }
        self.jitter = (
            T.ColorJitter(**jitter[self.augmentation]) if self.augmentation in jitter else None
        )
        self.to_tensor = T.Compose(
            [
                T.Resize((image_size, image_size), antialias=True),
                T.ToTensor(),
                T.Normalize(mean=list(mean), std=list(std)),
            ]
        )

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor], int]:
        entry = self.entries[index]
        image = load_rgb(self.data_dir / entry.path)
        labels, boxes = normalized_boxes(entry, image.width, image.height)
        if self.label_map is not None:
            labels = [self.label_map[c] for c in labels]
        if self.augmentation == "heavy":
            image, labels, boxes = _crop(image, labels, boxes)
        if self.augmentation != "none" and random.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            boxes = [[1.0 - x1, y0, 1.0 - x0, y1] for x0, y0, x1, y1 in boxes]
        if self.jitter is not None:
            image = self.jitter(image)
        xyxy = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
        cxcywh = torch.stack(
            [
                (xyxy[:, 0] + xyxy[:, 2]) / 2,
                (xyxy[:, 1] + xyxy[:, 3]) / 2,
                xyxy[:, 2] - xyxy[:, 0],
                xyxy[:, 3] - xyxy[:, 1],
            ],
            dim=1,
        )
        target = {"class_labels": torch.tensor(labels, dtype=torch.int64), "boxes": cxcywh}
        return self.to_tensor(image), target, index


def collate(
    batch: list[tuple[torch.Tensor, dict[str, torch.Tensor], int]],
) -> tuple[torch.Tensor, list[dict[str, torch.Tensor]], list[int]]:
    """Images stacked (they share one size); targets and indices as lists."""
    images, targets, indices = zip(*batch, strict=True)
    return torch.stack(images), list(targets), list(indices)


def to_predictions(
    logits: torch.Tensor,
    pred_boxes: torch.Tensor,
    sizes: Sequence[tuple[int, int]],
    image_ids: Sequence[str],
    class_names: list[str],
    threshold: float,
    max_detections: int = 100,
) -> list[ImagePrediction]:
    """YOLOS outputs (B x Q x (C+1) logits, B x Q x 4 normalized cx, cy, w, h) as one
    prediction per image: each query's best real class (softmax over all C+1, the
    no-object class left out of the choice), its box in the image's own pixels
    ((width, height) in `sizes`) clipped to it, confidence >= `threshold`, best first."""
    probs = logits.float().softmax(dim=-1)[..., :-1]
    scores, labels = probs.max(dim=-1)
    boxes = pred_boxes.float().clamp(0.0, 1.0)
    x0 = (boxes[..., 0] - boxes[..., 2] / 2).clamp(0.0, 1.0)
    y0 = (boxes[..., 1] - boxes[..., 3] / 2).clamp(0.0, 1.0)
    x1 = (boxes[..., 0] + boxes[..., 2] / 2).clamp(0.0, 1.0)
    y1 = (boxes[..., 1] + boxes[..., 3] / 2).clamp(0.0, 1.0)
    out = []
    for b, ((width, height), image_id) in enumerate(zip(sizes, image_ids, strict=True)):
        order = scores[b].argsort(descending=True)[:max_detections].tolist()
        s, c = scores[b].tolist(), labels[b].tolist()
        bx0, by0, bx1, by1 = x0[b].tolist(), y0[b].tolist(), x1[b].tolist(), y1[b].tolist()
        instances = []
        for q in order:
            if s[q] < threshold:
                break
            left, top = bx0[q] * width, by0[q] * height
            instances.append(
                Instance(
                    class_id=c[q],
                    class_name=class_names[c[q]],
                    confidence=s[q],
                    bbox=(left, top, bx1[q] * width - left, by1[q] * height - top),
                )
            )
        out.append(
            ImagePrediction(image_id=image_id, width=width, height=height, instances=instances)
        )
    return out
