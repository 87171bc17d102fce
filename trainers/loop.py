"""The one PyTorch training loop: every hand-written torch trainer (timm, transformers)
runs through `train`, and supplies only what differs, as an `Adapter`.

The loop owns what a run must do the same way whatever the model:
- resume: the checkpoint's model name and classes must match the request; optimizer,
  scaler, early stopping, epoch and RNG states come back from it;
- the optimizer and the learning-rate schedule with warm-up (trainers/optim.py);
- mixed precision (float16 autocast and a GradScaler) on CUDA only, when the config asks;
- early stopping, and the decision whether an epoch is the run's best so far;
- the checkpoint's layout: the adapter's `meta` plus the run state (below), one file per
  epoch (`epoch-NNNN.pt`), loadable with `weights_only=True`;
- reproducibility: every epoch reseeds the loader from (seed, epoch), so a run resumed
  from epoch k's checkpoint trains epoch k+1 exactly as the uninterrupted run does;
- cancel within one batch, and one `EpochResult` per epoch.

An adapter supplies its model, its data, its loss and its measurement (`Setup`).

Checkpoint layout (unchanged from the trainers that had their own loops, so their
checkpoints resume here): `meta | {"model", "optimizer", "scaler", "scheduler": {"name",
"epoch", "lr"}, "epoch", "config", "early_stopping": {"best", "best_epoch",
"bad_epochs"}, "rng", "validation"}`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from contract.training_config import TrainingConfig
from trainers.base import EpochResult, EvalReport, TrainHooks, TrainOutcome, TrainRequest
from trainers.classification_data import reseed
from trainers.optim import (
    EarlyStopping,
    autocast,
    deterministic,
    lr_factor,
    make_optimizer,
    restore_rng,
    rng_state,
    save_atomic,
)


@dataclass
class Setup:
    """What an adapter prepares for one run: the model, its data, its loss, its measure."""

    model: nn.Module  # on the run's device
    # What the checkpoint says about the model besides its weights (format, framework,
    # task type, model name, class names, image size, normalization, pretrained_loaded).
    meta: dict[str, Any]
    train_loader: Any  # batches for `loss`; its generator is reseeded every epoch
    # A training batch -> (loss, images in it); runs under autocast.
    loss: Callable[[Any], tuple[torch.Tensor, int]]
    # The model as it is now measured on the validation split; the argument: autocast.
    measure: Callable[[bool], EvalReport]
    clip_grad_norm: float | None = None  # clip gradients to this norm (None: never)


class Adapter(Protocol):
    def load_checkpoint(self, path: Path) -> dict[str, Any]:
        """A checkpoint this adapter wrote. ValueError for anything else."""
        ...

    def prepare(
        self, request: TrainRequest, resume: dict[str, Any] | None, device: torch.device
    ) -> Setup:
        """The run's model (from `resume` when given, else new) and data. ValueError for a
        task the model does not do, no training images, or weights that do not fit."""
        ...


def train(adapter: Adapter, request: TrainRequest, hooks: TrainHooks) -> TrainOutcome:
    """Train epochs (checkpoint epoch + 1)..config.epochs; see trainers/base.py.

    Raises what the adapter raises, and ValueError for a checkpoint of another model or
    class list.
    """
    cfg = request.config
    device = torch.device(request.device)
    resume = _resume_point(adapter, request)
    torch.manual_seed(cfg.seed)  # the initial weights
    setup = adapter.prepare(request, resume, device)
    model = setup.model
    optimizer = make_optimizer(
        cfg.optimizer, model.parameters(), cfg.learning_rate, cfg.weight_decay
    )
    amp = device.type == "cuda" and cfg.mixed_precision
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    stopper = EarlyStopping(cfg.early_stopping_patience)
    done = 0
    if resume is not None:
        stopper, done = _restore(resume, optimizer, scaler, stopper.patience)
    if done >= cfg.epochs:
        return TrainOutcome(epochs_run=done)

    request.workdir.mkdir(parents=True, exist_ok=True)
    with deterministic(device):
        for epoch in range(done + 1, cfg.epochs + 1):
            began = time.perf_counter()
            reseed(cfg.seed, epoch, setup.train_loader)
            lr = cfg.learning_rate * lr_factor(
                cfg.scheduler, epoch - 1, cfg.epochs, cfg.warmup_epochs
            )
            for group in optimizer.param_groups:
                group["lr"] = lr
            ran = _train_epoch(setup, optimizer, scaler, device, amp, epoch, hooks)
            if ran is None or hooks.should_stop():
                return TrainOutcome(epochs_run=epoch - 1, cancelled=True)
            loss, images_seen = ran
            report = setup.measure(amp)
            is_best = stopper.update(
                epoch, report.primary_value, maximize=report.direction != "minimize"
            )
            checkpoint = request.workdir / f"epoch-{epoch:04d}.pt"
            save_atomic(
                _checkpoint(setup, optimizer, scaler, stopper, cfg, epoch, lr, report),
                checkpoint,
            )
            train_metrics = {"loss": loss, "lr": lr}
            if cfg.pretrained:
                train_metrics["pretrained_loaded"] = float(setup.meta["pretrained_loaded"])
            hooks.epoch_end(
                EpochResult(
                    epoch=epoch,
                    total_epochs=cfg.epochs,
                    train_metrics=train_metrics,
                    validation=report,
                    checkpoint=checkpoint,
                    seconds=time.perf_counter() - began,
                    images_seen=images_seen,
                    is_best=is_best,
                )
            )
            if stopper.should_stop:
                return TrainOutcome(epochs_run=epoch, stopped_early=True)
    return TrainOutcome(epochs_run=cfg.epochs)


def _resume_point(adapter: Adapter, request: TrainRequest) -> dict[str, Any] | None:
    """The checkpoint to continue after, if any. ValueError when it holds another model
    or was trained on other classes."""
    if request.resume_from is None:
        return None
    resume = adapter.load_checkpoint(request.resume_from)
    if resume["model_name"] != request.model_name:
        raise ValueError(f"The checkpoint holds {resume['model_name']}, not {request.model_name}")
    if list(resume["class_names"]) != list(request.manifest.classes):
        raise ValueError("The checkpoint was trained on other classes")
    return resume


def _checkpoint(
    setup: Setup,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    stopper: EarlyStopping,
    cfg: TrainingConfig,
    epoch: int,
    lr: float,
    report: EvalReport,
) -> dict[str, Any]:
    """The checkpoint of `epoch`: the adapter's meta and everything a resume needs."""
    return setup.meta | {
        "model": setup.model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict(),
        "scheduler": {"name": cfg.scheduler, "epoch": epoch, "lr": lr},
        "epoch": epoch,
        "config": cfg.stored(),
        "early_stopping": stopper.state(),
        "rng": rng_state(),
        "validation": report.metrics,
    }


def _restore(
    resume: dict[str, Any],
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    patience: int,
) -> tuple[EarlyStopping, int]:
    """Put a checkpoint's run state back (optimizer, scaler, RNG); its early stopping
    (with this config's patience) and the last epoch it holds."""
    optimizer.load_state_dict(resume["optimizer"])
    if scaler.is_enabled() and resume["scaler"]:  # empty when saved without mixed precision
        scaler.load_state_dict(resume["scaler"])
    restore_rng(resume["rng"])
    return EarlyStopping(patience, **resume["early_stopping"]), int(resume["epoch"])


def _train_epoch(
    setup: Setup,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    device: torch.device,
    amp: bool,
    epoch: int,
    hooks: TrainHooks,
) -> tuple[float, int] | None:
    """One pass over the training data: (mean loss, images), or None when told to stop.

    One host sync per batch for the reported loss, taken a batch late, so the GPU is
    never left idle waiting for it."""
    model = setup.model
    model.train()
    batches = len(setup.train_loader)
    total, counted, images = 0.0, 0, 0
    pending: torch.Tensor | None = None  # the previous batch's loss, not yet read
    for batch_no, batch in enumerate(setup.train_loader, start=1):
        if hooks.should_stop():
            return None
        with autocast(device, amp):
            loss, n = setup.loss(batch)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if setup.clip_grad_norm is not None:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), setup.clip_grad_norm)
        scaler.step(optimizer)
        scaler.update()
        images += n
        # Read the previous batch's loss: this batch's work is already queued, so the
        # host waits for nothing the GPU still has to do.
        if pending is not None:
            total += float(pending)
            counted += 1
        pending = loss.detach()
        if counted == 0:  # the first batch: nothing earlier to report
            total, counted, pending = float(pending), 1, None
        hooks.progress(epoch, batch_no, batches, {"loss": total / counted})
    if pending is not None:
        total += float(pending)
        counted += 1
    return total / max(counted, 1), images
