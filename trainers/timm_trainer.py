"""timm image classifiers: train, resume, evaluate, predict and explain.

Training is trainers/loop.py's (resume, schedule, mixed precision, early stopping,
checkpoints, reproducibility); this adapter supplies the model, the data
(`trainers/classification_data.py`'s pipeline), the cross-entropy loss with the config's
label smoothing, and accuracy from `classification_report`.

Pretrained weights:
- `config.pretrained` with `request.pretrained_weights` (a .pth/.pt/.safetensors
  state dict of the same architecture, any head): the backbone is loaded through timm
  (so its checkpoint filters apply, e.g. a ViT's position embeddings are resized), then
  the head is re-initialised for our classes.
- `config.pretrained` without a file: timm's published weights, but only from the
  local caches (HF_HUB_OFFLINE is set, so a miss fails in well under a second). On a
  miss the model trains from random weights; every epoch's `train_metrics` says which
  happened: `pretrained_loaded` is 1.0 or 0.0 (present whenever pretrained was asked).

Checkpoints (one file per epoch, `epoch-NNNN.pt` in the workdir) are loaded with
`weights_only=True`: plain data and tensors only, so a checkpoint cannot run code.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from trainers import offline

offline.apply()  # before timm is imported: it reads the hub's offline switch at import

import numpy as np  # noqa: E402
import timm  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from contract.manifest import Manifest  # noqa: E402
from contract.predictions import ClassScore, ImagePrediction  # noqa: E402
from trainers import loop  # noqa: E402
from trainers.base import (  # noqa: E402
    EvalReport,
    TrainHooks,
    TrainOutcome,
    TrainRequest,
)
from trainers.classification_data import (  # noqa: E402
    ManifestImages,
    build_transform,
    label_map_by_name,
    load_rgb,
    make_loader,
    split_entries,
)
from trainers.gradcam import grad_cam, overlay  # noqa: E402
from trainers.metrics.classification import classification_report  # noqa: E402
from trainers.optim import autocast  # noqa: E402

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "vap.timm.image_classification/1"
TASK_TYPE = "image_classification"
PREDICT_BATCH = 32

# --- models ------------------------------------------------------------------------------


def default_image_size(model_name: str) -> int:
    """The input size timm's pretrained config names for the model (224 for most)."""
    cfg = timm.models.get_pretrained_cfg(model_name)
    return int(cfg.input_size[-1]) if cfg is not None else 224


def _size_kwargs(model_name: str, image_size: int) -> dict[str, Any]:
    """Models built for one input size (ViTs) are told the size; CNNs take any."""
    cfg = timm.models.get_pretrained_cfg(model_name)
    if cfg is not None and cfg.fixed_input_size and image_size != default_image_size(model_name):
        return {"img_size": image_size}
    return {}


def _classifier_names(model_name: str) -> list[str]:
    cfg = timm.models.get_pretrained_cfg(model_name)
    names = cfg.classifier if cfg is not None else None
    if names is None:
        return []
    return [names] if isinstance(names, str) else list(names)


def _from_file(model_name: str, num_classes: int, path: Path, kwargs: dict[str, Any]) -> nn.Module:
    if not path.is_file():
        raise ValueError(f"Pretrained weights file {path} does not exist")
    state = timm.models.load_state_dict(str(path), weights_only=True)
    file_classes = next(
        (
            int(state[f"{h}.weight"].shape[0])
            for h in _classifier_names(model_name)
            if f"{h}.weight" in state
        ),
        None,
    )
    try:
        # With the file's own class count timm loads it strictly (a file of another
        # architecture fails here); a head-less file (-1) loads non-strictly.
        model = timm.create_model(
            model_name,
            pretrained=True,
            num_classes=file_classes or num_classes,
            pretrained_cfg_overlay={
                "state_dict": state,
                "num_classes": file_classes if file_classes is not None else -1,
            },
            **kwargs,
        )
    except RuntimeError as exc:
        raise ValueError(f"{path.name} does not hold {model_name} weights: {exc}") from exc
    if not set(model.state_dict()) & set(state):
        raise ValueError(f"{path.name} does not hold {model_name} weights (no key matches)")
    model.pretrained_cfg.pop("state_dict", None)  # don't keep a second copy of the weights
    model.reset_classifier(num_classes)
    return model


def _hub_weights_cached(model_name: str) -> bool:
    """False when timm would have to download from a plain URL (HF_HUB_OFFLINE does
    not stop torch.hub): only try such weights if torch.hub already holds the file."""
    cfg = timm.models.get_pretrained_cfg(model_name)
    if cfg is None:
        return False
    if cfg.hf_hub_id:
        return True  # the hub client fails fast offline when the cache misses
    if cfg.url:
        name = os.path.basename(urlparse(cfg.url).path)
        return Path(torch.hub.get_dir(), "checkpoints", name).is_file()
    return False


def build_model(
    model_name: str,
    num_classes: int,
    image_size: int,
    pretrained: bool = False,
    weights_file: Path | None = None,
) -> tuple[nn.Module, bool]:
    """A timm model with a fresh head of `num_classes`, and whether pretrained weights
    were loaded (see the module docstring for where they come from).

    Raises ValueError when `weights_file` is missing or holds another architecture.
    """
    kwargs = _size_kwargs(model_name, image_size)
    if pretrained and weights_file is not None:
        return _from_file(model_name, num_classes, Path(weights_file), kwargs), True
    if pretrained and _hub_weights_cached(model_name):
        try:
            model = timm.create_model(
                model_name, pretrained=True, num_classes=num_classes, **kwargs
            )
            model.reset_classifier(num_classes)
            return model, True
        except Exception as exc:  # noqa: BLE001 - any miss of the cache means "not here"
            log.warning("No local pretrained weights for %s (%s): random init", model_name, exc)
    elif pretrained:
        log.warning("No local pretrained weights for %s: random init", model_name)
    model = timm.create_model(model_name, pretrained=False, num_classes=num_classes, **kwargs)
    return model, False


def _normalization(model: nn.Module) -> tuple[list[float], list[float]]:
    data = timm.data.resolve_model_data_config(model)
    return [float(v) for v in data["mean"]], [float(v) for v in data["std"]]


# --- checkpoints -------------------------------------------------------------------------


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint this trainer wrote, on the CPU. ValueError for anything else."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{Path(path).name} is not a timm classification checkpoint")
    return state


def model_from_checkpoint(state: dict[str, Any]) -> nn.Module:
    """The checkpoint's model, its weights loaded, on the CPU."""
    model = timm.create_model(
        state["model_name"],
        pretrained=False,
        num_classes=len(state["class_names"]),
        **state["model_kwargs"],
    )
    model.load_state_dict(state["model"])
    return model


# --- evaluation --------------------------------------------------------------------------


@torch.inference_mode()
def _probabilities(
    model: nn.Module, loader: Any, device: torch.device, amp: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Softmax probabilities and labels of every batch; one device-to-host copy at the end."""
    model.eval()
    probs, labels = [], []
    for x, y in loader:
        with autocast(device, amp):
            logits = model(x.to(device, non_blocking=True))
        probs.append(logits.float().softmax(dim=1))
        labels.append(y)
    return torch.cat(probs).double().cpu().numpy(), torch.cat(labels).numpy()


# --- the trainer -------------------------------------------------------------------------


class TimmTrainer:
    framework = "timm"

    def train(self, request: TrainRequest, hooks: TrainHooks) -> TrainOutcome:
        """Train epochs (checkpoint epoch + 1)..config.epochs with trainers/loop.py.

        Raises ValueError for another task type, no training images, or a checkpoint
        of another model or class list.
        """
        return loop.train(self, request, hooks)

    @staticmethod
    def load_checkpoint(path: Path) -> dict[str, Any]:
        return load_checkpoint(path)

    def prepare(
        self, request: TrainRequest, resume: dict[str, Any] | None, device: torch.device
    ) -> loop.Setup:
        """The classifier (from `resume`, or new and maybe pretrained), the manifest's
        train and val splits (val: train when there is none), cross-entropy, accuracy."""
        if request.task_type != TASK_TYPE:
            raise ValueError(f"timm trains {TASK_TYPE}, not {request.task_type}")
        cfg = request.config
        manifest = request.manifest
        train_entries = split_entries(manifest, "train")
        if not train_entries:
            raise ValueError("The dataset has no labelled training images")
        val_entries = split_entries(manifest, "val") or train_entries
        model, image_size, pretrained_loaded = self._model(request, resume)
        model.to(device)
        mean, std = _normalization(model)
        pin = device.type == "cuda"
        train_loader = make_loader(
            ManifestImages(
                train_entries,
                request.data_dir,
                build_transform(image_size, cfg.augmentation, True, mean, std),
            ),
            cfg.batch_size,
            shuffle=True,
            seed=cfg.seed,
            pin_memory=pin,
        )
        val_loader = make_loader(
            ManifestImages(
                val_entries, request.data_dir, build_transform(image_size, "none", False, mean, std)
            ),
            cfg.batch_size,
            shuffle=False,
            pin_memory=pin,
        )
        criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
        val_ids = [e.path for e in val_entries]

        def loss(batch: Any) -> tuple[torch.Tensor, int]:
            x, y = batch
            y = y.to(device, non_blocking=True)
            return criterion(model(x.to(device, non_blocking=True)), y), int(y.shape[0])

        def measure(amp: bool) -> EvalReport:
            probs, labels = _probabilities(model, val_loader, device, amp)
            return classification_report(labels, probs, manifest.classes, image_ids=val_ids)

        meta = {
            "format": CHECKPOINT_FORMAT,
            "framework": self.framework,
            "task_type": TASK_TYPE,
            "model_name": request.model_name,
            "class_names": list(manifest.classes),
            "image_size": image_size,
            "model_kwargs": _size_kwargs(request.model_name, image_size),
            "mean": mean,
            "std": std,
            "pretrained_loaded": pretrained_loaded,
        }
        return loop.Setup(model, meta, train_loader, loss, measure)

    @staticmethod
    def _model(request: TrainRequest, resume: dict[str, Any] | None) -> tuple[nn.Module, int, bool]:
        """The run's model, its input size, and whether pretrained weights were loaded
        (for a resumed run: whether they were when it began)."""
        if resume is not None:
            model = model_from_checkpoint(resume)
            return model, int(resume["image_size"]), bool(resume["pretrained_loaded"])
        cfg = request.config
        image_size = cfg.image_size or default_image_size(request.model_name)
        model, pretrained_loaded = build_model(
            request.model_name,
            len(request.manifest.classes),
            image_size,
            pretrained=cfg.pretrained,
            weights_file=request.pretrained_weights,
        )
        return model, image_size, pretrained_loaded

    def evaluate(
        self,
        checkpoint: Path,
        manifest: Manifest,
        data_dir: Path,
        split: str,
        device: str = "cpu",
        keep_images: bool = False,
    ) -> EvalReport:
        """The checkpoint's model measured on `split` (classes matched by name).

        Raises ValueError when the split has no labelled images or holds a class the
        model does not know.
        """
        state = load_checkpoint(checkpoint)
        classes: list[str] = list(state["class_names"])
        entries = split_entries(manifest, split)
        if not entries:
            raise ValueError(f"The dataset has no labelled {split} images")
        used = {int(e.label) for e in entries if e.label is not None}
        label_map = label_map_by_name(manifest.classes, classes, used)
        dev = torch.device(device)
        model = model_from_checkpoint(state).to(dev)
        transform = build_transform(state["image_size"], "none", False, state["mean"], state["std"])
        loader = make_loader(
            ManifestImages(entries, data_dir, transform, label_map),
            int(state["config"]["batch_size"]),
            shuffle=False,
            pin_memory=dev.type == "cuda",
        )
        amp = dev.type == "cuda" and bool(state["config"]["mixed_precision"])
        probs, labels = _probabilities(model, loader, dev, amp)
        return classification_report(
            labels, probs, classes, image_ids=[e.path for e in entries], keep_images=keep_images
        )

    def predict(
        self,
        checkpoint: Path,
        images: list[Path],
        device: str = "cpu",
        confidence: float = 0.25,
        top_k: int = 5,
    ) -> list[ImagePrediction]:
        """The `top_k` most probable classes of each image, best first (softmax).

        `confidence` is a detector's threshold: a classifier always answers its top
        classes, so the best class is there however unsure the model is.
        """
        state = load_checkpoint(checkpoint)
        classes: list[str] = list(state["class_names"])
        dev = torch.device(device)
        model = model_from_checkpoint(state).to(dev).eval()
        transform = build_transform(state["image_size"], "none", False, state["mean"], state["std"])
        k = max(1, min(top_k, len(classes)))
        out: list[ImagePrediction] = []
        for first in range(0, len(images), PREDICT_BATCH):
            paths = [Path(p) for p in images[first : first + PREDICT_BATCH]]
            pictures = [load_rgb(p) for p in paths]
            x = torch.stack([transform(p) for p in pictures]).to(dev)
            with torch.inference_mode():
                probs = model(x).float().softmax(dim=1).cpu()
            values, indices = probs.topk(k, dim=1)
            for path, picture, vs, ids in zip(
                paths, pictures, values.tolist(), indices.tolist(), strict=True
            ):
                out.append(
                    ImagePrediction(
                        image_id=path.name,
                        width=picture.width,
                        height=picture.height,
                        classes=[
                            ClassScore(class_id=c, class_name=classes[c], confidence=v)
                            for v, c in zip(vs, ids, strict=True)
                        ],
                    )
                )
        return out

    def explain(
        self,
        checkpoint: Path,
        image: Path,
        out: Path,
        class_id: int | None = None,
        device: str = "cpu",
    ) -> Path:
        """A Grad-CAM overlay of `image` (its own size) for `class_id` (default: the
        predicted class) written to `out` as PNG. ValueError for an unknown class id."""
        state = load_checkpoint(checkpoint)
        if class_id is not None and not 0 <= class_id < len(state["class_names"]):
            raise ValueError(f"class_id must be in 0..{len(state['class_names']) - 1}")
        dev = torch.device(device)
        model = model_from_checkpoint(state).to(dev)
        for p in model.parameters():
            p.requires_grad_(False)  # gradients are wanted for activations only
        picture = load_rgb(image)
        transform = build_transform(state["image_size"], "none", False, state["mean"], state["std"])
        explanation = grad_cam(model, transform(picture)[None].to(dev), class_id)
        out.parent.mkdir(parents=True, exist_ok=True)
        overlay(picture, explanation.heatmap).save(out, format="PNG")
        return out
