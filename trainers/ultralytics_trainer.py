"""The Ultralytics adapter: YOLO detection, segmentation, pose and classification.

Ultralytics runs its own loop; we drive it through its callbacks:
- `on_train_batch_end`: progress, and cancellation (`hooks.should_stop()`): a private
  exception leaves the loop at once, without Ultralytics' end-of-run validation.
- `on_fit_epoch_end`: after Ultralytics has validated and written `last.pt`, we copy it
  into our checkpoint (`trainers/ultralytics_infer.py`), validate that checkpoint with OUR
  metrics (COCO mAP by `trainers/metrics/detection.py`, accuracy & co. for
  classification; Ultralytics' own numbers ride along under "yolo/"), report the epoch
  and apply early stopping on our primary metric.
Ultralytics' final validation of best.pt (a second `on_fit_epoch_end` for the last
epoch) is switched off: the best epoch is ours, decided here on our primary metric
(`EpochResult.is_best`). It reads the same typed `TrainingConfig` as the torch loop
(trainers/ultralytics_args.py maps it onto Ultralytics' arguments).

Resuming sets the checkpoint's train arguments to this attempt's data, folder and config
and lets Ultralytics resume it (`train(resume=...)`): model, EMA, optimizer and epoch
continue; its RNG state is not in its checkpoint, so a resumed run's shuffling and
augmentation differ from an uninterrupted one's (the epoch count does not).
Pose jobs are measured by box mAP and keypoint OKS mAP ("pose_" keys, primary).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from trainers import offline

offline.apply()  # before Ultralytics is imported anywhere

from contract.best_epoch import beats  # noqa: E402
from contract.manifest import Manifest  # noqa: E402
from contract.predictions import ImagePrediction  # noqa: E402
from trainers.base import (  # noqa: E402
    EpochResult,
    EvalReport,
    TrainHooks,
    TrainOutcome,
    TrainRequest,
)
from trainers.ultralytics_args import TASKS, image_size, train_args  # noqa: E402
from trainers.ultralytics_infer import (  # noqa: E402
    evaluate_checkpoint,
    evaluate_images,
    load_checkpoint,
    load_model,
    predict_images,
    read_meta,
    write_checkpoint,
)


class _Cancelled(Exception):
    """Raised from a callback to leave Ultralytics' loop between two batches."""


def _quiet_settings() -> None:
    """No sync to Ultralytics' servers, no logger integrations (some phone home)."""
    from ultralytics.utils import SETTINGS

    wanted = {
        "sync": False,
        "clearml": False,
        "comet": False,
        "dvc": False,
        "mlflow": False,
        "raytune": False,
        "tensorboard": False,
        "wandb": False,
        "vscode_msg": False,
        "openvino_msg": False,
    }
    if any(SETTINGS.get(k) != v for k, v in wanted.items()):
        SETTINGS.update(wanted)


def _prepare_data(manifest: Manifest, data_dir: Path, out: Path) -> Path:
    """The dataset in the layout Ultralytics reads: a data.yaml (YOLO tree) for the
    detection-like tasks, a folder with train/ and val/ class folders for classification."""
    from trainers.layouts import to_imagefolder, to_yolo

    if manifest.task_type != "image_classification":
        return to_yolo(manifest, data_dir, out)
    roots = to_imagefolder(manifest, data_dir, out)
    if "val" not in roots:  # Ultralytics' classifier needs a val (or test) folder
        import shutil

        shutil.copytree(roots["test"] if "test" in roots else roots["train"], out / "val")
    return out


class _Run:
    """One `train()` call: the callbacks and what they remember between epochs."""

    def __init__(self, request: TrainRequest, hooks: TrainHooks, meta: dict[str, Any]) -> None:
        self.request = request
        self.hooks = hooks
        self.meta = meta
        self.total = request.config.epochs
        self.patience = request.config.early_stopping_patience
        self.last_epoch = int(meta.get("epoch", 0))  # the last epoch reported (1-based)
        self.stopped_early = False
        self.batch = 0
        self.epoch_start = time.time()
        self.val_images = [i for i in request.manifest.images if i.split == "val"] or [
            i for i in request.manifest.images if i.split == "train"
        ]

    def on_train_start(self, trainer) -> None:  # type: ignore[no-untyped-def]
        # Ultralytics re-validates best.pt after the last epoch and fires on_fit_epoch_end
        # once more for it; we report every epoch ourselves, so skip that pass.
        trainer.final_eval = lambda: None

    def on_train_epoch_start(self, trainer) -> None:  # type: ignore[no-untyped-def]
        self.batch = 0
        self.epoch_start = time.time()
        if self.hooks.should_stop():
            raise _Cancelled

    def on_train_batch_end(self, trainer) -> None:  # type: ignore[no-untyped-def]
        self.batch += 1
        losses = trainer.label_loss_items(trainer.tloss) if trainer.tloss else {}
        self.hooks.progress(
            trainer.epoch + 1,
            self.batch,
            len(trainer.train_loader),
            {k.removeprefix("train/"): v for k, v in losses.items()},
        )
        if self.hooks.should_stop():
            raise _Cancelled

    def on_fit_epoch_end(self, trainer) -> None:  # type: ignore[no-untyped-def]
        epoch = trainer.epoch + 1
        if epoch <= self.last_epoch or epoch > self.total:
            return  # Ultralytics' extra pass after the last epoch (already switched off)
        meta = self.meta | {"epoch": epoch}
        # The weights just written to last.pt: the EMA, as Ultralytics validates.
        report = evaluate_images(
            load_model(trainer.last, meta["task_type"]),
            meta,
            self.val_images,
            self.request.data_dir,
            self.request.device,
        )
        for key, value in (trainer.metrics or {}).items():
            report.metrics[f"yolo/{key.removeprefix('metrics/')}"] = float(value)
        losses = trainer.label_loss_items(trainer.tloss) if trainer.tloss else {}
        train_metrics = {k.removeprefix("train/"): float(v) for k, v in losses.items()}
        train_metrics["loss"] = float(sum(train_metrics.values()))
        train_metrics["lr"] = float(trainer.optimizer.param_groups[0]["lr"])
        # Early stopping on our primary metric, and whether this epoch is the best (the
        # one rule, contract/best_epoch.py); its state travels in the checkpoint.
        stop = dict(meta.get("early_stopping") or {"best": None, "bad_epochs": 0})
        better = beats(report.primary_value, stop["best"], report.direction != "minimize")
        stop = {"best": report.primary_value, "bad_epochs": 0} if better else stop
        if not better:
            stop["bad_epochs"] += 1
        self.meta = meta | {"early_stopping": stop}
        checkpoint = self.request.workdir / "checkpoints" / f"epoch_{epoch:04d}.pt"
        write_checkpoint(trainer.last, checkpoint, self.meta)
        self.hooks.epoch_end(
            EpochResult(
                epoch=epoch,
                total_epochs=self.total,
                train_metrics=train_metrics,
                validation=report,
                checkpoint=checkpoint,
                seconds=time.time() - self.epoch_start,
                images_seen=len(trainer.train_loader.dataset),
                is_best=better,
            )
        )
        self.last_epoch = epoch
        if self.patience and stop["bad_epochs"] >= self.patience and epoch < self.total:
            self.stopped_early = True
            trainer.stop = True  # Ultralytics leaves its loop after this callback


class UltralyticsTrainer:
    framework = "ultralytics"

    def train(self, request: TrainRequest, hooks: TrainHooks) -> TrainOutcome:
        """Train (or resume) a YOLO model; see the module docstring for how."""
        from ultralytics import YOLO

        _quiet_settings()
        if request.task_type not in TASKS:
            raise ValueError(f"Ultralytics does not train {request.task_type}")
        work = request.workdir
        data = _prepare_data(request.manifest, request.data_dir, work / "data")
        save_dir = work / "ultralytics" / "train"
        args = train_args(
            request.model_name,
            request.task_type,
            request.config,
            data,
            save_dir,
            request.device,
        )
        meta: dict[str, Any] = {
            "framework": "ultralytics",
            "model_name": request.model_name,
            "task_type": request.task_type,
            "class_names": list(request.manifest.classes),
            "image_size": image_size(request.model_name, request.config),
            "keypoints": request.manifest.keypoints.model_dump()
            if request.manifest.keypoints
            else None,
            "epoch": 0,
            "early_stopping": None,
        }
        if request.resume_from is not None:
            old = read_meta(request.resume_from)
            meta |= {"epoch": int(old["epoch"]), "early_stopping": old.get("early_stopping")}
            if meta["epoch"] >= args["epochs"]:
                return TrainOutcome(epochs_run=meta["epoch"])
            model, train_kwargs = self._resumable(request.resume_from, work, args)
        else:
            model = YOLO(f"{request.model_name}.yaml", task=TASKS[request.task_type])
            train_kwargs = dict(args)
            weights = request.pretrained_weights
            if request.config.pretrained and weights is not None and weights.is_file():
                train_kwargs["pretrained"] = str(weights)  # what matches in shape is transferred
            else:
                train_kwargs["pretrained"] = False
        run = _Run(request, hooks, meta)
        model.add_callback("on_train_start", run.on_train_start)
        model.add_callback("on_train_epoch_start", run.on_train_epoch_start)
        model.add_callback("on_train_batch_end", run.on_train_batch_end)
        model.add_callback("on_fit_epoch_end", run.on_fit_epoch_end)
        try:
            model.train(**train_kwargs)
        except _Cancelled:
            return TrainOutcome(epochs_run=run.last_epoch, cancelled=True)
        return TrainOutcome(epochs_run=run.last_epoch, stopped_early=run.stopped_early)

    @staticmethod
    def _resumable(checkpoint: Path, work: Path, args: dict[str, Any]):  # type: ignore[no-untyped-def]
        """A copy of the checkpoint whose train arguments point at this attempt's data and
        folder (Ultralytics resumes with the arguments stored in the checkpoint)."""
        import torch
        from ultralytics import YOLO

        ckpt = load_checkpoint(checkpoint)
        path = work / "ultralytics" / "resume.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        ckpt["train_args"] = {
            **ckpt.get("train_args", {}),
            **args,
            "model": str(path),
            "resume": str(path),
        }
        torch.save(ckpt, path)
        model = YOLO(str(path), task=args["task"])
        return model, {"resume": str(path), "data": args["data"], "device": args["device"]}

    def evaluate(
        self,
        checkpoint: Path,
        manifest: Manifest,
        data_dir: Path,
        split: str,
        device: str = "cpu",
        keep_images: bool = False,
    ) -> EvalReport:
        """Our metrics of the checkpoint on a split (predictions at confidence 0.001)."""
        _quiet_settings()
        return evaluate_checkpoint(checkpoint, manifest, data_dir, split, device, keep_images)

    def predict(
        self,
        checkpoint: Path,
        images: list[Path],
        device: str = "cpu",
        confidence: float = 0.25,
        top_k: int = 5,
    ) -> list[ImagePrediction]:
        """Boxes (and masks, keypoints) at or above `confidence` in absolute pixels of each
        image, or the top-k classes; image_id is the file's name."""
        _quiet_settings()
        meta = read_meta(checkpoint)
        preds, _ = predict_images(
            load_model(checkpoint, meta["task_type"]),
            list(images),
            [Path(p).name for p in images],
            meta,
            confidence,
            device,
            top_k,
        )
        return preds

    def explain(
        self,
        checkpoint: Path,
        image: Path,
        out: Path,
        class_id: int | None = None,
        device: str = "cpu",
    ) -> Path:
        """Not offered for Ultralytics models (Grad-CAM comes with the timm adapter)."""
        raise NotImplementedError("Grad-CAM explanations are not available for YOLO models")
