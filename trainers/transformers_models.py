"""The transformers models of the catalog, built from configs embedded here (no hub access),
and how pretrained weights get into them.

- vit-tiny: ViT with DeiT-Tiny's shape (hidden 192, 12 layers, 3 heads, MLP 768, patch 16);
  vit-base: ViT-Base/16. Both `ViTForImageClassification`.
- yolos-tiny: `YolosForObjectDetection` with hustvl/yolos-tiny's shape (hidden 192, 12
  layers, 3 heads, intermediate 768, 100 detection tokens, no mid position embeddings).
- segformer-b0: `SegformerForSemanticSegmentation` with nvidia/mit-b0's encoder (hidden
  32-256 over 4 stages) and a 256-wide all-MLP decoder; no position embeddings.

The input is square, `image_size` pixels (the catalog's default size when the config
leaves it empty), and the model is built for that size: its position embeddings have
one entry per patch of that grid. Weights trained at another size (a hub checkpoint at
224 or 800x1333) have their patch position embeddings resized bicubically on loading,
as timm does for its ViTs; nothing is interpolated per forward pass.

Pretrained weights (`build_model(pretrained=True)`) come from a state-dict file
(.safetensors, or a torch .bin/.pt/.pth; the hub's old key names are converted by
transformers' own loader), else from the local Hugging Face cache of the catalog's
`hub_id` (looked up without any network access), else the model starts from random
weights. The classification layer is always new, sized for our classes.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainers import offline

offline.apply()  # before transformers is imported: it reads the offline switches at import

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from transformers import (  # noqa: E402
    PretrainedConfig,
    PreTrainedModel,
    SegformerConfig,
    SegformerForSemanticSegmentation,
    ViTConfig,
    ViTForImageClassification,
    YolosConfig,
    YolosForObjectDetection,
)

from contract import catalog  # noqa: E402

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HUB_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class Architecture:
    kind: str  # "vit" | "yolos"
    task_type: str
    config: dict[str, Any]  # the embedded transformers config (without size and labels)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    # The input size (height, width) of the hub's weights: their position-embedding grid.
    hub_image_size: tuple[int, int]
    # State-dict prefixes of the class layer, always re-initialised for our classes.
    head: tuple[str, ...]


_VIT_TINY: dict[str, Any] = dict(
    hidden_size=192, num_hidden_layers=12, num_attention_heads=3, intermediate_size=768,
    patch_size=16, layer_norm_eps=1e-12, hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0, qkv_bias=True,
)  # fmt: skip
_VIT_BASE: dict[str, Any] = _VIT_TINY | dict(
    hidden_size=768, num_attention_heads=12, intermediate_size=3072
)
_YOLOS_TINY: dict[str, Any] = dict(
    hidden_size=192, num_hidden_layers=12, num_attention_heads=3, intermediate_size=768,
    patch_size=16, layer_norm_eps=1e-12, hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0, qkv_bias=True, num_detection_tokens=100,
    use_mid_position_embeddings=False, auxiliary_loss=False, class_cost=1, bbox_cost=5,
    giou_cost=2, bbox_loss_coefficient=5, giou_loss_coefficient=2, eos_coefficient=0.1,
)  # fmt: skip

_SEGFORMER_B0: dict[str, Any] = dict(
    num_encoder_blocks=4, depths=[2, 2, 2, 2], sr_ratios=[8, 4, 2, 1],
    hidden_sizes=[32, 64, 160, 256], patch_sizes=[7, 3, 3, 3], strides=[4, 2, 2, 2],
    num_attention_heads=[1, 2, 5, 8], mlp_ratios=[4, 4, 4, 4], decoder_hidden_size=256,
    hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
)  # fmt: skip

ARCHITECTURES: dict[str, Architecture] = {
    # facebook/deit-tiny-patch16-224 normalizes with ImageNet's statistics,
    # google/vit-base-patch16-224 with 0.5 / 0.5.
    "vit-tiny": Architecture(
        "vit", "image_classification", _VIT_TINY, IMAGENET_MEAN, IMAGENET_STD, (224, 224),
        ("classifier.",),
    ),
    "vit-base": Architecture(
        "vit", "image_classification", _VIT_BASE, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), (224, 224),
        ("classifier.",),
    ),
    "yolos-tiny": Architecture(
        "yolos", "object_detection", _YOLOS_TINY, IMAGENET_MEAN, IMAGENET_STD, (800, 1333),
        ("class_labels_classifier.layers.2.",),
    ),
    # MiT-b0 (SegformerConfig's defaults, written out); trainers/transformers_segformer.py
    "segformer-b0": Architecture(
        "segformer", "semantic_segmentation", _SEGFORMER_B0, IMAGENET_MEAN, IMAGENET_STD,
        (512, 512), ("decode_head.classifier.",),
    ),
}  # fmt: skip


def architecture(model_name: str) -> Architecture:
    """The embedded architecture of a catalog name. ValueError for an unknown name."""
    if model_name not in ARCHITECTURES:
        raise ValueError(
            f"transformers has no model {model_name!r}; one of {', '.join(ARCHITECTURES)}"
        )
    return ARCHITECTURES[model_name]


def default_image_size(model_name: str) -> int:
    info = catalog.find("transformers", model_name)
    return info.default_image_size if info is not None else 224


def make_config(
    kind: str, arch_config: dict[str, Any], image_size: int, class_names: list[str]
) -> PretrainedConfig:
    """The transformers config of a model of `kind` for square `image_size` inputs and
    `class_names` (YOLOS adds its no-object class itself)."""
    labels: dict[str, Any] = {
        "num_labels": len(class_names),
        "id2label": dict(enumerate(class_names)),
        "label2id": {n: i for i, n in enumerate(class_names)},
    }
    if kind == "vit":
        return ViTConfig(**arch_config, image_size=image_size, **labels)
    if kind == "yolos":
        # YOLOS reads the size as (height, width).
        return YolosConfig(**arch_config, image_size=[image_size, image_size], **labels)
    if kind == "segformer":  # convolutional patch embeddings: any input size
        return SegformerConfig(**arch_config, **labels)
    raise ValueError(f"unknown model kind {kind!r}")


def model_class(kind: str) -> type[PreTrainedModel]:
    return {
        "vit": ViTForImageClassification,
        "yolos": YolosForObjectDetection,
        "segformer": SegformerForSemanticSegmentation,
    }[kind]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --- pretrained weights --------------------------------------------------------------------


@dataclass
class LoadReport:
    """What a pretrained load did: where the weights came from and which keys did not fit."""

    source: str
    loaded: int  # model tensors that took the file's values
    missing: list[str]  # model keys the file did not have (the new head among them)
    unexpected: list[str]  # file keys the model has no place for
    mismatched: list[str]  # keys present in both with other shapes (re-initialised)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a .safetensors file or a torch state dict (also one wrapped as
    {"state_dict": ...} or {"model": ...}, e.g. our own checkpoints).

    Raises ValueError when the file is missing or holds no tensors."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"Pretrained weights file {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state: Any = load_file(str(path), device="cpu")
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict):
        for key in ("state_dict", "model"):
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    tensors = (
        {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
        if isinstance(state, dict)
        else {}
    )
    if not tensors:
        raise ValueError(f"{path.name} holds no state dict")
    return tensors


def hub_weights_file(hub_id: str | None, cache_dir: Path | None = None) -> Path | None:
    """The catalog hub id's weights in the local Hugging Face cache, or None; never
    touches the network."""
    if not hub_id:
        return None
    from huggingface_hub import try_to_load_from_cache

    for filename in HUB_WEIGHT_FILES:
        found = try_to_load_from_cache(
            hub_id, filename, cache_dir=str(cache_dir) if cache_dir else None
        )
        if isinstance(found, str) and Path(found).is_file():
            return Path(found)
    return None


def _patch_grid(tokens: int, fallback: tuple[int, int]) -> tuple[int, int] | None:
    side = math.isqrt(tokens)
    if side * side == tokens:
        return side, side
    if fallback[0] * fallback[1] == tokens:
        return fallback
    return None


def resize_position_embeddings(
    pos: torch.Tensor, target_tokens: int, target_grid: tuple[int, int], prefix: int,
    suffix: int, source_grid_hint: tuple[int, int],
) -> torch.Tensor | None:  # fmt: skip
    """`pos` (1 x tokens x C: `prefix` tokens, a patch grid, `suffix` tokens) with its
    patch grid resized bicubically to `target_grid`; None when the source grid cannot
    be told (not square and not `source_grid_hint`)."""
    if pos.dim() != 3 or pos.shape[1] == target_tokens:
        return pos
    grid = _patch_grid(pos.shape[1] - prefix - suffix, source_grid_hint)
    if grid is None:
        return None
    head, patches = pos[:, :prefix], pos[:, prefix : pos.shape[1] - suffix]
    tail = pos[:, pos.shape[1] - suffix :]
    channels = pos.shape[2]
    patches = patches.reshape(1, grid[0], grid[1], channels).permute(0, 3, 1, 2).float()
    patches = F.interpolate(patches, size=target_grid, mode="bicubic", align_corners=False)
    patches = patches.permute(0, 2, 3, 1).reshape(1, -1, channels).to(pos.dtype)
    return torch.cat([head, patches, tail], dim=1)


def _fit_state(
    state: dict[str, torch.Tensor], arch: Architecture, config: PretrainedConfig, image_size: int
) -> dict[str, torch.Tensor]:
    """The file's tensors made to fit our model: position embeddings resized to our
    patch grid, the class layer dropped (it is new for our classes)."""
    patch = int(config.patch_size)
    grid = (image_size // patch, image_size // patch)
    suffix = int(getattr(config, "num_detection_tokens", 0)) if arch.kind == "yolos" else 0
    target = 1 + grid[0] * grid[1] + suffix
    hint = (arch.hub_image_size[0] // patch, arch.hub_image_size[1] // patch)
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if any(key.startswith(h) for h in arch.head):
            continue
        if key.endswith("embeddings.position_embeddings"):
            resized = resize_position_embeddings(value, target, grid, 1, suffix, hint)
            if resized is None:
                log.warning("Cannot tell the patch grid of %s %s: not loaded", key, value.shape)
                continue
            value = resized
        out[key] = value
    return out


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No progress bars or load tables on stdout while loading; we log our own summary."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar:
            hf_logging.enable_progress_bar()


def load_pretrained(
    model_name: str,
    class_names: list[str],
    image_size: int,
    path: Path,
    source: str,
) -> tuple[PreTrainedModel, LoadReport]:
    """A model of `model_name` built for `image_size` and `class_names`, with every tensor
    of the state dict at `path` that fits loaded into it.

    Raises ValueError when the file is unreadable or nothing in it fits the model."""
    arch = architecture(model_name)
    config = make_config(arch.kind, arch.config, image_size, class_names)
    state = _fit_state(read_state_dict(path), arch, config, image_size)
    cls = model_class(arch.kind)
    with _quiet_transformers():
        loaded: Any = cls.from_pretrained(
            None,
            config=config,
            state_dict=state,
            ignore_mismatched_sizes=True,
            output_loading_info=True,
        )
    model, info = loaded
    mismatched = sorted(str(m[0]) for m in info.get("mismatched_keys", ()))
    missing = sorted(info.get("missing_keys", ()))
    report = LoadReport(
        source=source,
        loaded=len(set(model.state_dict()) - set(missing) - set(mismatched)),
        missing=missing,
        unexpected=sorted(info.get("unexpected_keys", ())),
        mismatched=mismatched,
    )
    backbone = [k for k in model.state_dict() if not any(k.startswith(h) for h in arch.head)]
    if not set(backbone) - set(missing) - set(mismatched):
        raise ValueError(f"{Path(path).name} does not hold {model_name} weights (no key fits)")
    return model, report


def build_model(
    model_name: str,
    class_names: list[str],
    image_size: int,
    pretrained: bool = False,
    weights_file: Path | None = None,
    hub_cache_dir: Path | None = None,
) -> tuple[PreTrainedModel, LoadReport | None]:
    """The model for `class_names` at `image_size`, and what was loaded into it (None: it
    starts from random weights). With `pretrained`, weights come from `weights_file`,
    else from the local hub cache (`hub_cache_dir`, default Hugging Face's own), else
    nowhere. Initial weights draw from torch's global generator: seed it first.

    Raises ValueError for an unknown model or a weights file that does not fit."""
    arch = architecture(model_name)
    if pretrained and weights_file is not None:
        model, report = load_pretrained(
            model_name, class_names, image_size, Path(weights_file), Path(weights_file).name
        )
    elif pretrained and (found := hub_weights_file(_hub_id(model_name), hub_cache_dir)) is not None:
        model, report = load_pretrained(
            model_name, class_names, image_size, found, f"hub:{_hub_id(model_name)}"
        )
    else:
        if pretrained:
            log.warning(
                "No local pretrained weights for %s (%s not cached): random init",
                model_name,
                _hub_id(model_name),
            )
        config = make_config(arch.kind, arch.config, image_size, class_names)
        return model_class(arch.kind)(config), None
    log.info(
        "Pretrained %s from %s: %d tensors loaded; missing %s; unexpected %s; "
        "re-initialised (other shape) %s",
        model_name,
        report.source,
        report.loaded,
        report.missing[:20],
        report.unexpected[:20],
        report.mismatched[:20],
    )
    return model, report


def _hub_id(model_name: str) -> str | None:
    info = catalog.find("transformers", model_name)
    return info.hub_id if info is not None else None


def rebuild(kind: str, arch_config: dict[str, Any], image_size: int, class_names: list[str],
            weights: dict[str, torch.Tensor]) -> PreTrainedModel:  # fmt: skip
    """A model exactly as a checkpoint describes it, its weights loaded (strictly)."""
    model = model_class(kind)(make_config(kind, arch_config, image_size, class_names))
    model.load_state_dict(weights)
    return model
