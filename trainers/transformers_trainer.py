"""Hugging Face transformers models: ViT classifiers and the YOLOS detector; train, resume,
evaluate, predict and explain (classification).

The models are built from configs embedded in `trainers/transformers_models.py` (never
downloaded); pretrained weights come from a file or the local hub cache (see there). The
loop is plain torch, not HF's Trainer, so cancelling and checkpoints are ours: it
checks `hooks.should_stop()` before every batch, writes one self-contained checkpoint per
epoch (`epoch-NNNN.pt`, loaded with `weights_only=True`), and every epoch reseeds its
generators from (seed, epoch), so a run resumed after epoch k trains epoch k+1 exactly as
the uninterrupted run does. Optimizer, schedule, warm-up and early stopping mean what
they mean for timm (`trainers/optim.py`); gradients are clipped to norm 1.0 (transformers
trained from scratch diverge easily without it); mixed precision runs on CUDA only.

- Classification (vit-tiny, vit-base): `trainers/classification_data.py`'s pipeline,
  cross-entropy with the config's label smoothing, accuracy from `classification_report`.
- Detection (yolos-tiny): YOLOS's own Hungarian-matched loss on targets built by
  `trainers/transformers_detection.py`; validation through `detection_report`
  (primary mAP50-95) on every detection down to confidence 0.001.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from trainers import offline

offline.apply()  # before transformers is imported

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from contract.manifest import ImageEntry, Manifest  # noqa: E402
from contract.predictions import ClassScore, ImagePrediction  # noqa: E402
from trainers.base import (  # noqa: E402
    EpochResult,
    EvalReport,
    TrainHooks,
    TrainOutcome,
    TrainRequest,
    register,
)
from trainers.classification_data import (  # noqa: E402
    ManifestImages,
    build_transform,
    load_rgb,
    make_loader,
    reseed,
    split_entries,
)
from trainers.metrics.classification import classification_report  # noqa: E402
from trainers.metrics.detection import detection_report  # noqa: E402
from trainers.optim import (  # noqa: E402
    EarlyStopping,
    autocast,
    deterministic,
    lr_factor,
    make_optimizer,
    restore_rng,
    rng_state,
    save_atomic,
)
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


def _label_map(source: list[str], target: list[str], used: set[int]) -> dict[int, int]:
    """Manifest class ids to the model's, by name. ValueError when a used class is unknown."""
    by_name = {name: i for i, name in enumerate(target)}
    unknown = {source[c] for c in used} - set(by_name)
    if unknown:
        raise ValueError(f"The model does not know the classes {sorted(unknown)}")
    return {i: by_name[n] for i, n in enumerate(source) if n in by_name}


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
        return _label_map(manifest.classes, classes, used)

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


class _Detection:
    """YOLOS on `transformers_detection`'s targets."""

    def entries(self, manifest: Manifest, split: str) -> list[ImageEntry]:
        return [e for e in manifest.images if e.split == split]

    def loader(
        self, entries: list[ImageEntry], data_dir: Path, state: dict[str, Any], train: bool,
        augmentation: str, batch_size: int, seed: int, pin: bool,
        label_map: dict[int, int] | None = None,
    ) -> DataLoader:  # type: ignore[type-arg]  # fmt: skip
        dataset = DetectionImages(
            entries, data_dir, int(state["image_size"]), augmentation, train,
            state["mean"], state["std"], label_map,
        )  # fmt: skip
        generator = torch.Generator()
        generator.manual_seed(seed)
        return DataLoader(
            dataset, batch_size=batch_size, shuffle=train, num_workers=0, generator=generator,
            pin_memory=pin, collate_fn=collate,
        )  # fmt: skip

    def label_map(
        self, manifest: Manifest, entries: list[ImageEntry], classes: list[str]
    ) -> dict[int, int]:
        used = {a.class_id for e in entries for a in e.annotations}
        return _label_map(manifest.classes, classes, used)

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


# Per model kind: how its data is loaded, its loss taken and its predictions measured.
_TASKS: dict[str, _Classification | _Detection] = {"vit": _Classification(), "yolos": _Detection()}


def _train_epoch(
    step: Callable[[Any], tuple[torch.Tensor, int]],
    model: nn.Module,
    loader: DataLoader,  # type: ignore[type-arg]
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    device: torch.device,
    amp: bool,
    epoch: int,
    hooks: TrainHooks,
) -> tuple[float, int] | None:
    """One pass over `loader`: (mean loss, images), or None when told to stop."""
    model.train()
    batches = len(loader)
    total, counted, images = 0.0, 0, 0
    pending: torch.Tensor | None = None  # the previous batch's loss, not yet read
    for batch_no, batch in enumerate(loader, start=1):
        if hooks.should_stop():
            return None
        with autocast(device, amp):
            loss, n = step(batch)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP_NORM)
        scaler.step(optimizer)
        scaler.update()
        images += n
        # Read the previous batch's loss: this batch's work is already queued, so the
        # host never waits for the GPU to finish it.
        if pending is not None:
            total += float(pending)
            counted += 1
        pending = loss.detach()
        if counted == 0:
            total, counted, pending = float(pending), 1, None
        hooks.progress(epoch, batch_no, batches, {"loss": total / counted})
    if pending is not None:
        total += float(pending)
        counted += 1
    return total / max(counted, 1), images


# --- the trainer ---------------------------------------------------------------------------


@dataclass
class _Start:
    model: nn.Module
    meta: dict[str, Any]
    resume: dict[str, Any] | None


@register("transformers")
class TransformersTrainer:
    framework = "transformers"

    # Where `config["pretrained"]` without a file looks for hub weights (None: the
    # Hugging Face default cache); tests point it elsewhere.
    hub_cache_dir: Path | None = None

    def _start(self, request: TrainRequest) -> _Start:
        """The model and checkpoint metadata of a new run, or those of the run resumed."""
        arch = architecture(request.model_name)
        classes = list(request.manifest.classes)
        cfg = request.config
        torch.manual_seed(int(cfg["seed"]))  # the initial weights
        if request.resume_from:
            resume = load_checkpoint(request.resume_from)
            if resume["model_name"] != request.model_name:
                raise ValueError(
                    f"The checkpoint holds {resume['model_name']}, not {request.model_name}"
                )
            if list(resume["class_names"]) != classes:
                raise ValueError("The checkpoint was trained on other classes")
            meta = {k: v for k, v in resume.items() if k in _META_KEYS}
            return _Start(model_from_checkpoint(resume), meta, resume)
        image_size = int(cfg.get("image_size") or default_image_size(request.model_name))
        model, report = build_model(
            request.model_name,
            classes,
            image_size,
            pretrained=bool(cfg["pretrained"]),
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
        return _Start(model, meta, None)

    def train(self, request: TrainRequest, hooks: TrainHooks) -> TrainOutcome:
        """Train epochs (checkpoint epoch + 1)..config["epochs"]; see trainers/base.py.

        Raises ValueError for an unknown model, a task the model does not do, no training
        images, a weights file that does not fit, or a checkpoint of another model or
        class list.
        """
        arch = architecture(request.model_name)
        if request.task_type != arch.task_type:
            raise ValueError(f"{request.model_name} does {arch.task_type}, not {request.task_type}")
        task = _TASKS[arch.kind]
        cfg = request.config
        manifest = request.manifest
        train_entries = task.entries(manifest, "train")
        if not train_entries:
            raise ValueError("The dataset has no labelled training images")
        val_entries = task.entries(manifest, "val") or train_entries
        device = torch.device(request.device)
        seed, epochs = int(cfg["seed"]), int(cfg["epochs"])
        batch_size = int(cfg["batch_size"])

        start = self._start(request)
        model, meta, resume = start.model.to(device), start.meta, start.resume
        pin = device.type == "cuda"
        train_loader = task.loader(
            train_entries, request.data_dir, meta, True, cfg["augmentation"], batch_size, seed, pin
        )
        val_loader = task.loader(
            val_entries, request.data_dir, meta, False, "none", batch_size, seed, pin
        )
        optimizer = make_optimizer(
            cfg["optimizer"],
            model.parameters(),
            float(cfg["learning_rate"]),
            float(cfg["weight_decay"]),
        )
        amp = device.type == "cuda" and bool(cfg["mixed_precision"])
        scaler = torch.amp.GradScaler("cuda", enabled=amp)
        criterion = nn.CrossEntropyLoss(label_smoothing=float(cfg.get("label_smoothing") or 0.0))
        stopper = EarlyStopping(int(cfg["early_stopping_patience"]))
        done = 0
        if resume is not None:
            optimizer.load_state_dict(resume["optimizer"])
            scaler.load_state_dict(resume["scaler"])
            stopper = EarlyStopping(stopper.patience, **resume["early_stopping"])
            done = int(resume["epoch"])
            restore_rng(resume["rng"])
        if done >= epochs:
            return TrainOutcome(epochs_run=done)

        classes = list(manifest.classes)
        request.workdir.mkdir(parents=True, exist_ok=True)
        with deterministic(device):
            for epoch in range(done + 1, epochs + 1):
                began = time.perf_counter()
                reseed(seed, epoch, train_loader)
                lr = float(cfg["learning_rate"]) * lr_factor(
                    cfg["scheduler"], epoch - 1, epochs, int(cfg["warmup_epochs"])
                )
                for group in optimizer.param_groups:
                    group["lr"] = lr
                ran = _train_epoch(
                    lambda batch: task.loss(model, batch, device, criterion),
                    model, train_loader, optimizer, scaler, device, amp, epoch, hooks,
                )  # fmt: skip
                if ran is None or hooks.should_stop():
                    return TrainOutcome(epochs_run=epoch - 1, cancelled=True)
                loss, images_seen = ran
                report = task.measure(model, val_loader, val_entries, classes, device, amp)
                stopper.update(epoch, report.primary_value)
                checkpoint = request.workdir / f"epoch-{epoch:04d}.pt"
                save_atomic(
                    meta
                    | {
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scaler": scaler.state_dict(),
                        "scheduler": {"name": cfg["scheduler"], "epoch": epoch, "lr": lr},
                        "epoch": epoch,
                        "config": dict(cfg),
                        "early_stopping": stopper.state(),
                        "rng": rng_state(),
                        "validation": report.metrics,
                    },
                    checkpoint,
                )
                train_metrics = {"loss": loss, "lr": lr}
                if cfg["pretrained"]:
                    train_metrics["pretrained_loaded"] = float(meta["pretrained_loaded"])
                hooks.epoch_end(
                    EpochResult(
                        epoch=epoch,
                        total_epochs=epochs,
                        train_metrics=train_metrics,
                        validation=report,
                        checkpoint=checkpoint,
                        seconds=time.perf_counter() - began,
                        images_seen=images_seen,
                    )
                )
                if stopper.should_stop:
                    return TrainOutcome(epochs_run=epoch, stopped_early=True)
        return TrainOutcome(epochs_run=epochs)

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
        confidence >= `confidence` in the image's own pixels, best first (at most 100).
        """
        state = load_checkpoint(checkpoint)
        classes: list[str] = list(state["class_names"])
        dev = torch.device(device)
        model = model_from_checkpoint(state).to(dev).eval()
        size = int(state["image_size"])
        transform = build_transform(size, "none", False, state["mean"], state["std"])
        k = max(1, min(top_k, len(classes)))
        out: list[ImagePrediction] = []
        for first in range(0, len(images), PREDICT_BATCH):
            paths = [Path(p) for p in images[first : first + PREDICT_BATCH]]
            pictures = [load_rgb(p) for p in paths]
            x = torch.stack([transform(p) for p in pictures]).to(dev)
            with torch.inference_mode():
                result = model(pixel_values=x)
            if state["kind"] == "yolos":
                out += to_predictions(
                    result.logits.cpu(),
                    result.pred_boxes.cpu(),
                    [p.size for p in pictures],
                    [p.name for p in paths],
                    classes,
                    confidence,
                )
                continue
            values, indices = result.logits.float().softmax(dim=1).cpu().topk(k, dim=1)
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
