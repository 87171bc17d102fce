"""Pictures of what a model said about an image: boxes, outlines, keypoints, semantic
masks and labels drawn on it, for every framework alike (they all answer in
contract/predictions.py's shapes, or the per-image result format built on them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

_PALETTE = [
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
]  # fmt: skip
_TRUTH = (255, 255, 255)


def _color(class_id: int) -> tuple[int, int, int]:
    return _PALETTE[class_id % len(_PALETTE)]


def _instances(prediction: dict[str, Any]) -> list[dict[str, Any]]:
    """Instances under either name: `instances` (ImagePrediction) or `boxes` (results)."""
    return list(prediction.get("instances") or prediction.get("boxes") or [])


def _mask_overlay(image: Image.Image, mask: dict[str, Any], alpha: int = 110) -> Image.Image:
    """`image` with each pixel of a semantic mask tinted in its class's colour (a mask of
    another aspect is stretched to the image; void pixels are left alone)."""
    from vap_runtime.model import decode_mask

    ids = decode_mask(mask).astype(np.int64)
    palette = np.asarray(_PALETTE, np.uint8)
    rgba = np.zeros((*ids.shape, 4), np.uint8)
    known = np.isin(ids, [c["class_id"] for c in mask.get("classes") or []])
    rgba[..., :3] = palette[ids % len(palette)]
    rgba[..., 3] = np.where(known, alpha, 0)
    tint = Image.fromarray(rgba, "RGBA").resize(image.size, Image.Resampling.NEAREST)
    return Image.alpha_composite(image.convert("RGBA"), tint).convert("RGB")


def draw(
    image_path: Path,
    prediction: dict[str, Any],
    out: Path,
    ground_truth: dict[str, Any] | None = None,
    min_side: int = 256,
) -> Path:
    """Write `image_path` with the prediction drawn on it (and the truth's boxes in white
    when given) as a PNG at `out`. Small images are scaled up so labels stay legible."""
    with Image.open(image_path) as src:
        image = src.convert("RGB")
    scale = max(1.0, min_side / max(1, min(image.size)))
    if scale > 1:
        image = image.resize((round(image.width * scale), round(image.height * scale)))
    if prediction.get("mask"):
        image = _mask_overlay(image, prediction["mask"])
    canvas = ImageDraw.Draw(image, "RGBA")
    font = ImageFont.load_default()
    for box in _instances(ground_truth or {}):
        x, y, w, h = (v * scale for v in box["bbox"])
        canvas.rectangle([x, y, x + w, y + h], outline=_TRUTH, width=1)
    for inst in _instances(prediction):
        color = _color(int(inst.get("class_id", 0)))
        x, y, w, h = (v * scale for v in inst["bbox"])
        if inst.get("polygon"):
            pts = [v * scale for v in inst["polygon"]]
            canvas.polygon(list(zip(pts[::2], pts[1::2], strict=False)), fill=(*color, 80))
        canvas.rectangle([x, y, x + w, y + h], outline=color, width=2)
        kp = inst.get("keypoints") or []
        for i in range(0, len(kp) - 2, 3):
            if kp[i + 2] > 0:
                cx, cy = kp[i] * scale, kp[i + 1] * scale
                canvas.ellipse([cx - 2, cy - 2, cx + 2, cy + 2], fill=color)
        label = f"{inst.get('class_name', inst.get('class_id'))} {inst.get('confidence', 1):.2f}"
        canvas.text((x + 2, max(0, y - 11)), label, fill=color, font=font)
    classes = prediction.get("classes") or []
    lines = [f"{c['class_name']} {c['confidence']:.2f}" for c in classes[:3]]
    shown = sorted((prediction.get("mask") or {}).get("classes") or [], key=lambda c: -c["pixels"])
    lines += [c["class_name"] for c in shown[:5]]
    if ground_truth and "class_name" in ground_truth:
        lines.append(f"truth: {ground_truth['class_name']}")
    for i, line in enumerate(lines):
        canvas.rectangle([0, i * 12, 8 + 7 * len(line), i * 12 + 12], fill=(0, 0, 0, 160))
        canvas.text((3, i * 12), line, fill=(255, 255, 255), font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, "PNG")
    return out
