"""Where a classifier looked: Grad-CAM heatmaps and their overlay on the image.

Which activation is explained:
- a CNN: the last module whose output is a feature map with more than one position
  (for a ResNet `layer4`, or `layer3` when the input is so small that `layer4` is 1x1),
  found by watching one forward pass, so any torch CNN works without a layer name;
- a timm ViT-like model (`patch_embed` with a grid, and `blocks`): the tokens entering
  the last block's attention (`blocks[-1].norm1`), reshaped to the patch grid. The last
  block's own output is no use: with a class token only that token reaches the head, so
  every patch token's gradient is zero;
- anything else, or a degenerate map (all zero or flat): input-gradient saliency,
  |d score / d pixel| taken at its largest over the colour channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn


@dataclass
class Explanation:
    heatmap: np.ndarray  # H x W float32 in [0, 1], the size of the model's input
    class_id: int  # the class explained
    method: str  # "gradcam" | "gradcam-tokens" | "saliency"


def _logits(output: Any) -> torch.Tensor:
    """Plain tensors (timm) and output objects with `.logits` (transformers) alike."""
    return output.logits if hasattr(output, "logits") else output


def _token_grid(model: nn.Module) -> tuple[int, int] | None:
    patch_embed = getattr(model, "patch_embed", None)
    grid = getattr(patch_embed, "grid_size", None)
    if grid is None or not hasattr(model, "blocks"):
        return None
    return int(grid[0]), int(grid[1])


def _patch_map(tokens: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """1 x tokens x C, prefix tokens (class, registers) first, as the patch grid 1 x C x h x w."""
    patches = tokens[:, tokens.shape[1] - grid[0] * grid[1] :]
    return patches.transpose(1, 2).reshape(1, -1, grid[0], grid[1])


def _normalized(cam: torch.Tensor, size: tuple[int, int]) -> np.ndarray | None:
    """The map upsampled to `size` and scaled to [0, 1]; None when it is flat."""
    up = F.interpolate(cam[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
    low, high = float(up.min()), float(up.max())
    if high - low < 1e-12:
        return None
    return ((up - low) / (high - low)).cpu().numpy().astype(np.float32)


def grad_cam(
    model: nn.Module,
    image: torch.Tensor,
    class_id: int | None = None,
    target: nn.Module | None = None,
) -> Explanation:
    """Explain `model`'s score for `class_id` (default: its best class) on `image`, a
    normalized 1 x 3 x H x W tensor, as an H x W heatmap in [0, 1].

    `target` names the layer to explain; by default it is found as the module
    docstring says. The model is put in eval mode; its parameters get no gradients.
    """
    model.eval()
    grid = _token_grid(model) if target is None else None
    if target is None and grid is not None:
        last = model.blocks[-1]  # type: ignore[index]
        target = getattr(last, "norm1", last)
    captured: list[tuple[nn.Module, torch.Tensor]] = []

    def keep(module: nn.Module, _inputs: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor) and (
            module is target or (target is None and output.dim() == 4)
        ):
            captured.append((module, output))

    watched = [target] if target is not None else [m for m in model.modules() if m is not model]
    handles = [m.register_forward_hook(keep) for m in watched]
    x = image.detach().clone().requires_grad_(True)
    try:
        with torch.enable_grad():
            logits = _logits(model(x))
    finally:
        for h in handles:
            h.remove()
    chosen = int(logits[0].argmax()) if class_id is None else int(class_id)
    score = logits[0, chosen]
    size = (int(image.shape[-2]), int(image.shape[-1]))

    source, method = None, "gradcam"
    if grid is not None:
        tokens = captured[-1][1] if captured else None  # 1 x tokens x channels
        if tokens is not None and tokens.dim() == 3 and tokens.shape[1] >= grid[0] * grid[1]:
            source, method = tokens, "gradcam-tokens"
    else:
        # The last module (in execution order) whose output is a map of > 1 position.
        maps = [out for _, out in captured if out.dim() == 4 and out.shape[-1] * out.shape[-2] > 1]
        source = maps[-1] if maps else None
    if source is not None:
        (grad,) = torch.autograd.grad(score, source, retain_graph=True)
        activation = source
        if grid is not None:
            activation, grad = _patch_map(source, grid), _patch_map(grad, grid)
        weights = grad.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * activation).sum(dim=1))[0].detach()
        heatmap = _normalized(cam, size)
        if heatmap is not None:
            return Explanation(heatmap=heatmap, class_id=chosen, method=method)
    (grad,) = torch.autograd.grad(score, x)
    saliency = grad[0].abs().amax(dim=0).detach()
    heatmap = _normalized(saliency, size)
    if heatmap is None:  # the score does not depend on the image at all
        heatmap = np.zeros(size, dtype=np.float32)
    return Explanation(heatmap=heatmap, class_id=chosen, method="saliency")


def _jet(values: np.ndarray) -> np.ndarray:
    """A jet-like colour map: 0 dark blue, 0.5 green-yellow, 1 dark red (H x W x 3, 0..1)."""
    v = values[..., None]
    centres = np.array([3.0, 2.0, 1.0])  # red, green, blue
    return np.clip(1.5 - np.abs(4 * v - centres), 0.0, 1.0)


def overlay(image: Image.Image, heatmap: np.ndarray, alpha: float = 0.5) -> Image.Image:
    """`image` (any mode, any size) blended with the coloured heatmap resized to it."""
    rgb = image.convert("RGB")
    scaled = Image.fromarray(np.asarray(heatmap, dtype=np.float32)).resize(
        rgb.size, Image.Resampling.BILINEAR
    )
    colours = _jet(np.clip(np.asarray(scaled), 0.0, 1.0))
    base = np.asarray(rgb, dtype=np.float32) / 255.0
    blended = (1 - alpha) * base + alpha * colours
    return Image.fromarray((blended * 255).round().astype(np.uint8))
