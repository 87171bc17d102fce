"""The Ultralytics adapter trains, validates with our metrics, checkpoints, resumes, stops on
cancel and predicts, for detection, segmentation, pose and classification: real YOLO
models built from their yamls (no weights), on tiny datasets, fully offline."""

from __future__ import annotations

import ipaddress
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from trainers import offline

offline.apply()

from contract.manifest import Manifest  # noqa: E402
from contract.training_config import validate  # noqa: E402
from tests.detection_data import (  # noqa: E402
    classification_dataset,
    detection_dataset,
    pose_dataset,
    segmentation_dataset,
)
from trainers.base import EpochResult, TrainOutcome, TrainRequest, get_trainer  # noqa: E402


@dataclass
class Hooks:
    stop_after_batches: int | None = None
    batches: list[tuple[int, int, int]] = field(default_factory=list)
    epochs: list[EpochResult] = field(default_factory=list)

    def should_stop(self) -> bool:
        return self.stop_after_batches is not None and len(self.batches) >= self.stop_after_batches

    def progress(self, epoch: int, batch: int, batches: int, metrics: dict[str, float]) -> None:
        self.batches.append((epoch, batch, batches))

    def epoch_end(self, result: EpochResult) -> None:
        self.epochs.append(result)


# Network attempts seen while `_watching` is on (an audit hook cannot be removed again).
_network: list[Any] = []
_watching = False


def _audit(event: str, args: tuple) -> None:  # type: ignore[type-arg]
    if _watching and event in ("socket.connect", "socket.getaddrinfo"):
        _network.append((event, args[1] if event == "socket.connect" else args[0]))


sys.addaudithook(_audit)


def _is_loopback(target: Any) -> bool:
    host = target[0] if isinstance(target, tuple) else target
    if isinstance(host, bytes):
        host = host.decode()
    if host in ("localhost", None) or not isinstance(host, str):
        return True  # unix sockets and the like
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _train(
    tmp: Path,
    manifest: Manifest,
    files: Path,
    model: str,
    hooks: Hooks,
    resume_from: Path | None = None,
    weights: Path | None = None,
    **config: Any,
) -> TrainOutcome:
    cfg = validate("ultralytics", manifest.task_type, {"pretrained": False, **config})
    request = TrainRequest(
        model_name=model,
        task_type=manifest.task_type,
        manifest=manifest,
        data_dir=files,
        config=cfg,
        workdir=tmp,
        resume_from=resume_from,
        pretrained_weights=weights,
    )
    return get_trainer("ultralytics").train(request, hooks)


DET = {"epochs": 2, "batch_size": 4, "image_size": 128}


@pytest.fixture(scope="module")
def detection_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One 2-epoch detection run, watched for network attempts."""
    global _watching
    root = tmp_path_factory.mktemp("det")
    manifest = detection_dataset(root / "files")
    hooks = Hooks()
    _network.clear()
    _watching = True
    try:
        socket.getaddrinfo("127.0.0.1", 9)  # the hook's own check: this must be seen
        outcome = _train(root / "work", manifest, root / "files", "yolo11n", hooks, **DET)
    finally:
        _watching = False
    return {
        "root": root,
        "manifest": manifest,
        "hooks": hooks,
        "outcome": outcome,
        "network": list(_network),
    }


def test_detection_reports_each_epoch_with_our_metrics_and_a_checkpoint(detection_run) -> None:  # type: ignore[no-untyped-def]
    hooks: Hooks = detection_run["hooks"]
    assert detection_run["outcome"] == TrainOutcome(epochs_run=2)
    assert [r.epoch for r in hooks.epochs] == [1, 2]  # no extra report for best.pt
    assert all(r.total_epochs == 2 and r.images_seen == 8 for r in hooks.epochs)
    assert hooks.epochs[0].checkpoint != hooks.epochs[1].checkpoint
    assert all(r.checkpoint.is_file() for r in hooks.epochs)
    for result in hooks.epochs:
        v = result.validation
        assert v.primary_metric == "mAP50-95" and v.direction == "maximize"
        assert v.primary_value == v.metrics["mAP50-95"]
        assert {"mAP50", "mAP75", "AR100", "yolo/mAP50-95(B)", "yolo/mAP50(B)"} <= set(v.metrics)
        assert [r["class_name"] for r in v.per_class] == ["person", "bus", "cat"]
        assert len(v.confusion_matrix or []) == 4
        assert result.train_metrics["loss"] > 0 and "box_loss" in result.train_metrics
    # 8 images, batch 4: two batches an epoch, reported with 1-based epochs
    assert hooks.batches == [(1, 1, 2), (1, 2, 2), (2, 1, 2), (2, 2, 2)]


def test_detection_training_touches_no_network(detection_run) -> None:  # type: ignore[no-untyped-def]
    seen = detection_run["network"]
    assert ("socket.getaddrinfo", "127.0.0.1") in seen  # the watch worked
    assert [n for n in seen if not _is_loopback(n[1])] == []


def test_evaluate_reproduces_the_epoch_report(detection_run) -> None:  # type: ignore[no-untyped-def]
    last = detection_run["hooks"].epochs[-1]
    report = get_trainer("ultralytics").evaluate(
        last.checkpoint,
        detection_run["manifest"],
        detection_run["root"] / "files",
        "val",
        keep_images=True,
    )
    assert report.primary_value == pytest.approx(last.validation.primary_value)
    assert report.images is not None and len(report.images) == 4
    assert {"tp", "fp", "fn", "precision", "recall", "mean_iou"} <= set(report.images[0]["metrics"])


def test_predict_gives_boxes_in_pixels_inside_the_image(detection_run) -> None:  # type: ignore[no-untyped-def]
    files = detection_run["root"] / "files"
    manifest: Manifest = detection_run["manifest"]
    val = [i for i in manifest.images if i.split == "val"]
    preds = get_trainer("ultralytics").predict(
        detection_run["hooks"].epochs[-1].checkpoint,
        [files / i.path for i in val],
        confidence=0.001,  # an untrained model: keep its faint boxes
    )
    assert [p.image_id for p in preds] == [Path(i.path).name for i in val]
    assert sum(len(p.instances) for p in preds) > 0
    for pred, image in zip(preds, val, strict=True):
        assert (pred.width, pred.height) == (image.width, image.height)
        for inst in pred.instances:
            x, y, w, h = inst.bbox
            assert 0 <= x <= x + w <= image.width + 1e-3
            assert 0 <= y <= y + h <= image.height + 1e-3
            assert inst.class_name == manifest.classes[inst.class_id]
        # absolute pixels, not fractions of the image
    assert max(i.bbox[2] for p in preds for i in p.instances) > 1.0


def test_resume_in_a_new_workdir_runs_only_the_remaining_epoch(detection_run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = detection_run["hooks"].epochs[0].checkpoint
    hooks = Hooks()
    files = detection_run["root"] / "files"
    outcome = _train(
        tmp_path, detection_run["manifest"], files, "yolo11n", hooks, resume_from=first, **DET
    )
    assert outcome == TrainOutcome(epochs_run=2)
    assert [r.epoch for r in hooks.epochs] == [2]
    assert hooks.batches == [(2, 1, 2), (2, 2, 2)]  # one epoch of training, not two
    assert hooks.epochs[0].checkpoint.parent.is_relative_to(tmp_path)


def test_cancel_stops_within_one_batch(tmp_path: Path) -> None:
    manifest = detection_dataset(tmp_path / "files")
    hooks = Hooks(stop_after_batches=1)
    outcome = _train(
        tmp_path / "work", manifest, tmp_path / "files", "yolo11n", hooks, **DET | {"batch_size": 2}
    )
    assert outcome == TrainOutcome(epochs_run=0, cancelled=True)
    assert hooks.batches == [(1, 1, 4)]
    assert hooks.epochs == []


def test_segmentation_starts_from_given_weights_and_reports_mask_metrics(
    detection_run, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import torch

    manifest = segmentation_dataset(tmp_path / "files")
    hooks = Hooks()
    weights = detection_run["hooks"].epochs[-1].checkpoint  # a detector: the head differs
    outcome = _train(
        tmp_path / "work",
        manifest,
        tmp_path / "files",
        "yolo11n-seg",
        hooks,
        weights=weights,
        epochs=1,
        batch_size=4,
        image_size=96,
        pretrained=True,
        learning_rate=1e-7,  # the transferred weights stay as they were
        seed=7,  # not the detector's seed: a fresh layer would differ
    )
    assert outcome.epochs_run == 1
    before = torch.load(weights, weights_only=False)["ema"].state_dict()["model.0.conv.weight"]
    after = torch.load(hooks.epochs[0].checkpoint, weights_only=False)["ema"].state_dict()
    moved = (before.float() - after["model.0.conv.weight"].float()).abs().max()
    assert moved < 1e-3  # transferred (a freshly initialised layer differs by ~0.4)
    v = hooks.epochs[0].validation
    assert v.primary_metric == "mask_mAP50-95"
    assert {"mAP50-95", "mask_mAP50-95", "mask_mAP50", "yolo/mAP50-95(M)"} <= set(v.metrics)
    assert "mask_AP50-95" in v.per_class[0]


def test_pose_trains_and_reports_keypoint_metrics(tmp_path: Path) -> None:
    manifest = pose_dataset(tmp_path / "files")
    hooks = Hooks()
    outcome = _train(
        tmp_path / "work",
        manifest,
        tmp_path / "files",
        "yolo11n-pose",
        hooks,
        epochs=1,
        batch_size=4,
        image_size=96,
    )
    assert outcome.epochs_run == 1
    v = hooks.epochs[0].validation
    assert v.primary_metric == "pose_mAP50-95"
    assert {"mAP50-95", "pose_mAP50-95", "yolo/mAP50-95(P)"} <= set(v.metrics)
    preds = get_trainer("ultralytics").predict(
        hooks.epochs[0].checkpoint, [tmp_path / "files" / manifest.images[-1].path], confidence=0
    )
    kpts = preds[0].instances[0].keypoints
    assert kpts is not None and len(kpts) == 9  # 3 keypoints: x, y, confidence


def test_classification_trains_predicts_and_stops_early(tmp_path: Path) -> None:
    manifest = classification_dataset(tmp_path / "files")
    hooks = Hooks()
    # A learning rate too small to change anything: the accuracy cannot improve.
    outcome = _train(
        tmp_path / "work",
        manifest,
        tmp_path / "files",
        "yolo11n-cls",
        hooks,
        epochs=4,
        batch_size=8,
        image_size=32,
        learning_rate=1e-7,
        warmup_epochs=0,
        early_stopping_patience=1,
    )
    assert outcome == TrainOutcome(epochs_run=2, stopped_early=True)
    v = hooks.epochs[0].validation
    assert v.primary_metric == "accuracy" and "yolo/accuracy_top1" in v.metrics
    image = tmp_path / "files" / manifest.images[0].path
    pred = get_trainer("ultralytics").predict(hooks.epochs[-1].checkpoint, [image], top_k=2)[0]
    assert len(pred.classes) == 2 and pred.instances == []
    assert {c.class_name for c in pred.classes} <= set(manifest.classes)
    with pytest.raises(NotImplementedError):
        get_trainer("ultralytics").explain(hooks.epochs[-1].checkpoint, image, tmp_path / "x.png")
