"""Hugging Face transformers models: ViT classifiers and the YOLOS detector; train, resume,
evaluate, predict and explain (classification).

The models are built from configs embedded in `trainers/transformers_models.py` (never
downloaded); pretrained weights come from a file or the local hub cache (see there).
Training is trainers/loop.py's, the same plain torch loop as timm's, not HF's Trainer
(resume, schedule, mixed precision on CUDA, early stopping, checkpoints `epoch-NNNN.pt`
loaded with `weights_only=True`, cancel within a batch); this adapter supplies the model,
data, loss and measure of each task, and clips gradients to norm 1.0 (transformers
trained from scratch diverge easily without it).

- Classification (vit-tiny, vit-base): `trainers/classification_data.py`'s pipeline,
  cross-entropy with the config's label smoothing, accuracy from `classification_report`.
- Detection (yolos-tiny): YOLOS's own Hungarian-matched loss on targets built by
  `trainers/transformers_detection.py`; validation through `detection_report`
  (primary mAP50-95) on every detection down to confidence 0.001.
- Semantic segmentation (segformer-b0): `trainers/transformers_segformer.py` (masks,
  mIoU, predictions as PNG masks).
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from trainers import offline

offline.apply()  # before transformers is imported

import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from contract.manifest import ImageEntry, Manifest  # noqa: E402
from contract.predictions import ClassScore, ImagePrediction  # noqa: E402
from trainers import loop  # noqa: E402
from trainers.annotated_task import AnnotatedTask  # noqa: E402
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
from trainers.metrics.classification import classification_report  # noqa: E402
from trainers.metrics.detection import detection_report  # noqa: E402
from trainers.optim import autocast  # noqa: E402
from trainers.transformers_detection import (  # noqa: E402
    DetectionImages,
    collate,
    to_predictions,
)
from trainers.transformers_models import (  # noqa: E402
    architecture,
    build_model,
    default_image_size,
    rebuild,
)
from trainers.transformers_segformer import SemanticSegmentation  # noqa: E402

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "vap.transformers/1"
PREDICT_BATCH = 16
EVAL_CONFIDENCE = 0.001  # validation keeps (nearly) every detection, as COCO's mAP wants
GRAD_CLIP_NORM = 1.0


# --- checkpoints ---------------------------------------------------------------------------


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint this trainer wrote, on the CPU. ValueError for anything else."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{Path(path).name} is not a transformers checkpoint")
    return state


def model_from_checkpoint(state: dict[str, Any]) -> nn.Module:
    """The checkpoint's model, its weights loaded, on the CPU."""
    return rebuild(
        state["kind"],
        state["arch_config"],
        int(state["image_size"]),
        list(state["class_names"]),
        state["model"],
    )


# --- the two tasks -------------------------------------------------------------------------


class _Classification:
    """ViT on `classification_data`'s pipeline."""

    def entries(self, manifest: Manifest, split: str) -> list[ImageEntry]:
        return split_entries(manifest, split)

    def loader(
        self, entries: list[ImageEntry], data_dir: Path, state: dict[str, Any], train: bool,
        augmentation: str, batch_size: int, seed: int, pin: bool,
        label_map: dict[int, int] | None = None,
    ) -> DataLoader:  # type: ignore[type-arg]  # fmt: skip
        transform = build_transform(
            int(state["image_size"]), augmentation, train, state["mean"], state["std"]
        )
        dataset = ManifestImages(entries, data_dir, transform, label_map)
        return make_loader(dataset, batch_size, shuffle=train, seed=seed, pin_memory=pin)

    def label_map(
        self, manifest: Manifest, entries: list[ImageEntry], classes: list[str]
    ) -> dict[int, int]:
        used = {int(e.label) for e in entries if e.label is not None}
        return label_map_by_name(manifest.classes, classes, used)

    @staticmethod
    def loss(
        model: nn.Module, batch: Any, device: torch.device, criterion: nn.Module
    ) -> tuple[torch.Tensor, int]:
        x, y = batch
        y = y.to(device, non_blocking=True)
        logits = model(pixel_values=x.to(device, non_blocking=True)).logits
        return criterion(logits, y), int(y.shape[0])

    @torch.inference_mode()
    def measure(
        self, model: nn.Module, loader: DataLoader, entries: list[ImageEntry],  # type: ignore[type-arg]
        classes: list[str], device: torch.device, amp: bool, keep_images: bool = False,
        label_map: dict[int, int] | None = None,
    ) -> EvalReport:  # fmt: skip
        model.eval()
        probs, labels = [], []
        for x, y in loader:
            with autocast(device, amp):
                logits = model(pixel_values=x.to(device, non_blocking=True)).logits
            probs.append(logits.float().softmax(dim=1))
            labels.append(y)
        return classification_report(
            torch.cat(labels).tolist(),
            torch.cat(probs).double().cpu().numpy(),
            classes,
            image_ids=[e.path for e in entries],
            keep_images=keep_images,
        )

    @torch.inference_mode()
    def predict(
        self, model: nn.Module, pictures: list[Image.Image], names: list[str],
        state: dict[str, Any], device: torch.device, confidence: float, top_k: int,
    ) -> list[ImagePrediction]:  # fmt: skip
        """The `top_k` most probable classes of each picture, best first."""
        classes: list[str] = list(state["class_names"])
        x = _batch(pictures, state).to(device)
        k = max(1, min(top_k, len(classes)))
        values, indices = model(pixel_values=x).logits.float().softmax(dim=1).cpu().topk(k, dim=1)
        return [
            ImagePrediction(
                image_id=name,
                width=picture.width,
                height=picture.height,
                classes=[
                    ClassScore(class_id=c, class_name=classes[c], confidence=v)
                    for v, c in zip(vs, ids, strict=True)
                ],
            )
            for name, picture, vs, ids in zip(
                names, pictures, values.tolist(), indices.tolist(), strict=True
            )
        ]


class _Detection(AnnotatedTask):
    """YOLOS on `transformers_detection`'s targets."""

    collate = staticmethod(collate)

    def dataset(
        self, entries: list[ImageEntry], data_dir: Path, state: dict[str, Any], train: bool,
        augmentation: str, label_map: dict[int, int] | None,
    ) -> DetectionImages:  # fmt: skip
        return DetectionImages(
            entries, data_dir, int(state["image_size"]), augmentation, train,
            state["mean"], state["std"], label_map,
        )  # fmt: skip

    @staticmethod
    def loss(
        model: nn.Module, batch: Any, device: torch.device, criterion: nn.Module
    ) -> tuple[torch.Tensor, int]:
        x, targets, _ = batch
        labels = [{k: v.to(device, non_blocking=True) for k, v in t.items()} for t in targets]
        out = model(pixel_values=x.to(device, non_blocking=True), labels=labels)
        return out.loss, int(x.shape[0])

    @torch.inference_mode()
    def measure(
        self, model: nn.Module, loader: DataLoader, entries: list[ImageEntry],  # type: ignore[type-arg]
        classes: list[str], device: torch.device, amp: bool, keep_images: bool = False,
        label_map: dict[int, int] | None = None,
    ) -> EvalReport:  # fmt: skip
        model.eval()
        predictions: list[ImagePrediction] = []
        for x, _, indices in loader:
            with autocast(device, amp):
                out = model(pixel_values=x.to(device, non_blocking=True))
            chosen = [entries[i] for i in indices]
            predictions += to_predictions(
                out.logits.cpu(),
                out.pred_boxes.cpu(),
                [(e.width, e.height) for e in chosen],
                [e.path for e in chosen],
                classes,
                EVAL_CONFIDENCE,
            )
        if label_map is not None:  # the truth in the model's class ids
            entries = [
                e.model_copy(
                    update={
                        "annotations": [
                            a.model_copy(update={"class_id": label_map[a.class_id]})
                            for a in e.annotations
                        ]
                    }
                )
                for e in entries
            ]
        return detection_report(entries, predictions, classes, keep_images=keep_images)

    @torch.inference_mode()
    def predict(
        self, model: nn.Module, pictures: list[Image.Image], names: list[str],
        state: dict[str, Any], device: torch.device, confidence: float, top_k: int,
    ) -> list[ImagePrediction]:  # fmt: skip
        """Each picture's boxes scoring at least `confidence`, in its own pixels."""
        result = model(pixel_values=_batch(pictures, state).to(device))
        return to_predictions(
            result.logits.cpu(),
            result.pred_boxes.cpu(),
            [p.size for p in pictures],
            names,
            list(state["class_names"]),
            confidence,
        )


def _batch(pictures: list[Image.Image], state: dict[str, Any]) -> torch.Tensor:
    """Pictures resized to the checkpoint's square size and normalized, as one batch."""
    size = int(state["image_size"])
    transform = build_transform(size, "none", False, state["mean"], state["std"])
    return torch.stack([transform(p) for p in pictures])


# Per model kind: how its data is loaded, its loss taken, its predictions measured and
# made for new images.
_TASKS: dict[str, _Classification | _Detection | SemanticSegmentation] = {
    "vit": _Classification(),
    "yolos": _Detection(),
    "segformer": SemanticSegmentation(),  # trainers/transformers_segformer.py
}


# --- the trainer ---------------------------------------------------------------------------


class TransformersTrainer:
    framework = "transformers"

    # Where `config.pretrained` without a file looks for hub weights (None: the
    # Hugging Face default cache); tests point it elsewhere.
    hub_cache_dir: Path | None = None

    def train(self, request: TrainRequest, hooks: TrainHooks) -> TrainOutcome:
        """Train epochs (checkpoint epoch + 1)..config.epochs with trainers/loop.py.

        Raises ValueError for an unknown model, a task the model does not do, no training
        images, a weights file that does not fit, or a checkpoint of another model or
        class list.
        """
        return loop.train(self, request, hooks)

    @staticmethod
    def load_checkpoint(path: Path) -> dict[str, Any]:
        return load_checkpoint(path)

    def prepare(
        self, request: TrainRequest, resume: dict[str, Any] | None, device: torch.device
    ) -> loop.Setup:
        """The model (from `resume`, or new and maybe pretrained), its task's data, loss
        and measure (`_TASKS`); gradients clipped to GRAD_CLIP_NORM."""
        arch = architecture(request.model_name)
        if request.task_type != arch.task_type:
            raise ValueError(f"{request.model_name} does {arch.task_type}, not {request.task_type}")
        task = _TASKS[arch.kind]
        cfg = request.config
        train_entries = task.entries(request.manifest, "train")
        if not train_entries:
            raise ValueError("The dataset has no labelled training images")
        val_entries = task.entries(request.manifest, "val") or train_entries
        classes = list(request.manifest.classes)
        if resume is not None:
            meta = {k: v for k, v in resume.items() if k in _META_KEYS}
            model = model_from_checkpoint(resume)
        else:
            model, meta = self._new_model(request, arch)
        model.to(device)
        pin = device.type == "cuda"
        train_loader = task.loader(
            train_entries, request.data_dir, meta, True, cfg.augmentation, cfg.batch_size,
            cfg.seed, pin,
        )  # fmt: skip
        val_loader = task.loader(
            val_entries, request.data_dir, meta, False, "none", cfg.batch_size, cfg.seed, pin
        )
        criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
        return loop.Setup(
            model,
            meta,
            train_loader,
            loss=lambda batch: task.loss(model, batch, device, criterion),
            measure=lambda amp: task.measure(model, val_loader, val_entries, classes, device, amp),
            clip_grad_norm=GRAD_CLIP_NORM,
        )

    def _new_model(self, request: TrainRequest, arch: Any) -> tuple[nn.Module, dict[str, Any]]:
        """A new model (pretrained when the config asks and weights are found) and the
        checkpoint metadata that describes it."""
        cfg = request.config
        image_size = cfg.image_size or default_image_size(request.model_name)
        classes = list(request.manifest.classes)
        model, report = build_model(
            request.model_name,
            classes,
            image_size,
            pretrained=cfg.pretrained,
            weights_file=request.pretrained_weights,
            hub_cache_dir=self.hub_cache_dir,
        )
        meta = {
            "format": CHECKPOINT_FORMAT,
            "framework": self.framework,
            "task_type": arch.task_type,
            "model_name": request.model_name,
            "kind": arch.kind,
            "arch_config": dict(arch.config),
            "class_names": classes,
            "image_size": image_size,
            "mean": list(arch.mean),
            "std": list(arch.std),
            "pretrained_loaded": report is not None,
            "pretrained_source": report.source if report is not None else None,
        }
        return model, meta

    def evaluate(
        self,
        checkpoint: Path,
        manifest: Manifest,
        data_dir: Path,
        split: str,
        device: str = "cpu",
        keep_images: bool = False,
    ) -> EvalReport:
        """The checkpoint's model measured on `split` (classes matched by name):
        accuracy and the rest for a classifier, COCO's box metrics for a detector.

        Raises ValueError when the split has no images or holds a class the model does
        not know.
        """
        state = load_checkpoint(checkpoint)
        task = _TASKS[state["kind"]]
        classes: list[str] = list(state["class_names"])
        entries = task.entries(manifest, split)
        if not entries:
            raise ValueError(f"The dataset has no labelled {split} images")
        label_map = task.label_map(manifest, entries, classes)
        dev = torch.device(device)
        model = model_from_checkpoint(state).to(dev)
        loader = task.loader(
            entries, data_dir, state, False, "none", int(state["config"]["batch_size"]), 0,
            dev.type == "cuda", label_map,
        )  # fmt: skip
        amp = dev.type == "cuda" and bool(state["config"]["mixed_precision"])
        return task.measure(
            model, loader, entries, classes, dev, amp, keep_images=keep_images, label_map=label_map
        )

    def predict(
        self,
        checkpoint: Path,
        images: list[Path],
        device: str = "cpu",
        confidence: float = 0.25,
        top_k: int = 5,
    ) -> list[ImagePrediction]:
        """Per image (`image_id` its file name): a classifier's `top_k` most probable
        classes, best first (whatever their confidence); a detector's boxes with
        confidence >= `confidence` in the image's own pixels, best first (at most 100);
        a segmenter's mask at the image's own size (each task's `predict`).
        """
        state = load_checkpoint(checkpoint)
        task = _TASKS[state["kind"]]
        dev = torch.device(device)
        model = model_from_checkpoint(state).to(dev).eval()
        out: list[ImagePrediction] = []
        for first in range(0, len(images), PREDICT_BATCH):
            paths = [Path(p) for p in images[first : first + PREDICT_BATCH]]
            pictures = [load_rgb(p) for p in paths]
            names = [p.name for p in paths]
            out += task.predict(model, pictures, names, state, dev, confidence, top_k)
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
        predicted class) written to `out` as PNG: the patch tokens entering the last
        encoder layer, as for timm's ViTs. NotImplementedError for a detector,
        ValueError for an unknown class id."""
        state = load_checkpoint(checkpoint)
        if state["kind"] != "vit":
            raise NotImplementedError("Explanations exist for classification models only")
        if class_id is not None and not 0 <= class_id < len(state["class_names"]):
            raise ValueError(f"class_id must be in 0..{len(state['class_names']) - 1}")
        from trainers.gradcam import grad_cam, overlay

        dev = torch.device(device)
        model = model_from_checkpoint(state).to(dev)
        for p in model.parameters():
            p.requires_grad_(False)  # gradients are wanted for activations only
        picture = load_rgb(image)
        size = int(state["image_size"])
        transform = build_transform(size, "none", False, state["mean"], state["std"])
        view = _TimmLikeViT(model, size // int(state["arch_config"]["patch_size"]))
        explanation = grad_cam(view, transform(picture)[None].to(dev), class_id)
        out.parent.mkdir(parents=True, exist_ok=True)
        overlay(picture, explanation.heatmap).save(out, format="PNG")
        return out


_META_KEYS = {
    "format", "framework", "task_type", "model_name", "kind", "arch_config", "class_names",
    "image_size", "mean", "std", "pretrained_loaded", "pretrained_source",
}  # fmt: skip


class _TimmLikeViT(nn.Module):
    """An HF ViT seen the way `trainers/gradcam.py` finds a timm ViT's tokens: a
    `patch_embed.grid_size`, and `blocks[-1].norm1` (the last layer's first layer norm,
    whose input tokens still carry every patch's gradient); forward gives logits."""

    def __init__(self, model: nn.Module, grid: int) -> None:
        super().__init__()
        self.model = model
        self.patch_embed = SimpleNamespace(grid_size=(grid, grid))
        vit: Any = model.vit
        self.blocks = [SimpleNamespace(norm1=vit.layers[-1].layernorm_before)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=x).logits  # type: ignore[no-any-return]
