"""The transformers trainer on real data, tiny: vit-tiny on scikit-learn's digits at 32 px
and yolos-tiny on four boxed photos at 64 px, built from scratch (no hub weights)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from trainers import offline

offline.apply()

import torch  # noqa: E402
from PIL import Image  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import YolosConfig, YolosForObjectDetection  # noqa: E402

from contract import catalog  # noqa: E402
from contract.manifest import Manifest  # noqa: E402
from contract.training_config import validate  # noqa: E402
from tests.detection_data import (  # noqa: E402
    DETECTION_CLASSES,
    classification_dataset,
    detection_dataset,
)
from tests.digits import CLASSES as DIGIT_CLASSES  # noqa: E402
from tests.digits import digits_dataset  # noqa: E402
from trainers.base import EpochResult, TrainOutcome, TrainRequest, get_trainer  # noqa: E402
from trainers.metrics.detection import detection_report  # noqa: E402
from trainers.transformers_detection import DetectionImages, to_predictions  # noqa: E402
from trainers.transformers_models import ARCHITECTURES, build_model, count_parameters  # noqa: E402
from trainers.transformers_trainer import load_checkpoint  # noqa: E402

DIGITS_PER_CLASS = 20  # 160 training and 40 validation images
VIT_SIZE = 32
YOLOS_SIZE = 64


_WATCH: list[bool] = []
_NETWORK: list[str] = []


def _audit(event: str, args: tuple) -> None:  # type: ignore[type-arg]
    if _WATCH and event in ("socket.connect", "socket.getaddrinfo"):
        _NETWORK.append(f"{event} {args!r}")


sys.addaudithook(_audit)  # audit hooks cannot be removed: this one only looks when asked


@dataclass
class Recorder:
    """TrainHooks that remember what they were told; `stop_after` batches, then stop."""

    stop_after: int | None = None
    epochs: list[EpochResult] = field(default_factory=list)
    batches: list[tuple[int, int, int, float]] = field(default_factory=list)

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.batches) >= self.stop_after

    def progress(self, epoch: int, batch: int, batches: int, metrics: dict[str, float]) -> None:
        self.batches.append((epoch, batch, batches, metrics["loss"]))

    def epoch_end(self, result: EpochResult) -> None:
        self.epochs.append(result)


@dataclass
class Run:
    request: TrainRequest
    hooks: Recorder
    outcome: TrainOutcome


def _vit_request(data: Path, manifest: Manifest, workdir: Path, **config: object) -> TrainRequest:
    cfg = validate(
        "transformers",
        "image_classification",
        dict(
            epochs=2, batch_size=32, learning_rate=5e-4, image_size=VIT_SIZE, pretrained=False,
            augmentation="none", scheduler="cosine",
        )
        | config,
    )  # fmt: skip
    return TrainRequest("vit-tiny", "image_classification", manifest, data, cfg, workdir)


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    folder = tmp_path_factory.mktemp("digits")
    return folder, digits_dataset(folder, per_class=DIGITS_PER_CLASS, size=VIT_SIZE)


@pytest.fixture(scope="module")
def vit_run(digits: tuple[Path, Manifest], tmp_path_factory: pytest.TempPathFactory) -> Run:
    data, manifest = digits
    request = _vit_request(data, manifest, tmp_path_factory.mktemp("vit"))
    hooks = Recorder()
    outcome = get_trainer("transformers").train(request, hooks)
    return Run(request, hooks, outcome)


@pytest.fixture(scope="module")
def yolos_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    data = tmp_path_factory.mktemp("photos")
    manifest = detection_dataset(data)
    cfg = validate(
        "transformers",
        "object_detection",
        dict(
            epochs=2, batch_size=4, learning_rate=1e-4, image_size=YOLOS_SIZE, pretrained=False,
            augmentation="standard",
        ),
    )  # fmt: skip
    request = TrainRequest(
        "yolos-tiny", "object_detection", manifest, data, cfg, tmp_path_factory.mktemp("yolos")
    )
    hooks = Recorder()
    outcome = get_trainer("transformers").train(request, hooks)
    return Run(request, hooks, outcome)


# --- vit-tiny ------------------------------------------------------------------------------


def test_vit_reports_every_epoch_with_a_checkpoint(vit_run: Run) -> None:
    assert vit_run.outcome == TrainOutcome(epochs_run=2)
    assert [r.epoch for r in vit_run.hooks.epochs] == [1, 2]
    for result in vit_run.hooks.epochs:
        assert result.total_epochs == 2
        assert result.images_seen == 160
        assert result.validation.primary_metric == "accuracy"
        assert result.checkpoint.is_file()
        state = load_checkpoint(result.checkpoint)
        assert state["epoch"] == result.epoch
        assert state["class_names"] == DIGIT_CLASSES
        assert state["image_size"] == VIT_SIZE
    # Five batches of 32 per epoch, each reported with the running loss.
    assert [(e, b, n) for e, b, n, _ in vit_run.hooks.batches] == [
        (e, b, 5) for e in (1, 2) for b in range(1, 6)
    ]
    assert vit_run.hooks.epochs[0].train_metrics["lr"] == pytest.approx(5e-4)
    assert vit_run.hooks.epochs[1].train_metrics["lr"] == pytest.approx(2.5e-4)  # cosine


def test_vit_learns_digits_above_chance(vit_run: Run) -> None:
    first, last = vit_run.hooks.epochs
    # Measured: 0.50 then 0.70 (chance is 0.10); the loss falls from ~2.1 to ~1.5.
    assert last.validation.primary_value >= 0.4
    assert last.train_metrics["loss"] < first.train_metrics["loss"]


def test_vit_resumed_run_continues_with_the_next_epoch(vit_run: Run, tmp_path: Path) -> None:
    base = vit_run.request
    request = TrainRequest(
        base.model_name, base.task_type, base.manifest, base.data_dir, base.config, tmp_path,
        resume_from=vit_run.hooks.epochs[0].checkpoint,
    )  # fmt: skip
    hooks = Recorder()
    outcome = get_trainer("transformers").train(request, hooks)
    assert outcome == TrainOutcome(epochs_run=2)
    assert [r.epoch for r in hooks.epochs] == [2]
    assert {e for e, *_ in hooks.batches} == {2}
    # Epoch 2 is the very epoch the uninterrupted run trained.
    resumed, straight = hooks.epochs[0], vit_run.hooks.epochs[1]
    assert resumed.train_metrics["loss"] == pytest.approx(straight.train_metrics["loss"], rel=1e-4)
    assert resumed.validation.primary_value == pytest.approx(straight.validation.primary_value)


def test_vit_cancel_stops_within_a_batch(digits: tuple[Path, Manifest], tmp_path: Path) -> None:
    data, manifest = digits
    hooks = Recorder(stop_after=2)
    outcome = get_trainer("transformers").train(_vit_request(data, manifest, tmp_path), hooks)
    assert outcome == TrainOutcome(epochs_run=0, cancelled=True)
    assert len(hooks.batches) == 2
    assert hooks.epochs == []
    assert not list(tmp_path.glob("*.pt"))


def test_vit_stops_early_when_accuracy_stalls(tmp_path: Path) -> None:
    data = tmp_path / "data"
    manifest = classification_dataset(data)  # 3 classes, 24 training images
    # A learning rate too small to change a prediction: accuracy cannot improve.
    request = _vit_request(
        data, manifest, tmp_path / "work", epochs=5, learning_rate=1e-7, early_stopping_patience=1
    )
    hooks = Recorder()
    outcome = get_trainer("transformers").train(request, hooks)
    assert outcome == TrainOutcome(epochs_run=2, stopped_early=True)
    assert [r.epoch for r in hooks.epochs] == [1, 2]
    state = load_checkpoint(hooks.epochs[-1].checkpoint)
    assert state["early_stopping"] == {
        "best": hooks.epochs[0].validation.primary_value,
        "best_epoch": 1,
        "bad_epochs": 1,
    }


def test_vit_predicts_top_k_classes(vit_run: Run) -> None:
    checkpoint = vit_run.hooks.epochs[-1].checkpoint
    images = [vit_run.request.data_dir / e.path for e in vit_run.request.manifest.images[:3]]
    predictions = get_trainer("transformers").predict(checkpoint, images, top_k=3)
    assert [p.image_id for p in predictions] == [p.name for p in images]
    for p in predictions:
        assert (p.width, p.height) == (VIT_SIZE, VIT_SIZE)
        assert len(p.classes) == 3
        confidences = [c.confidence for c in p.classes]
        assert confidences == sorted(confidences, reverse=True)
        assert all(c.class_name == DIGIT_CLASSES[c.class_id] for c in p.classes)
        assert sum(confidences) <= 1.0 + 1e-6


def test_vit_evaluate_matches_the_last_validation(vit_run: Run) -> None:
    last = vit_run.hooks.epochs[-1]
    report = get_trainer("transformers").evaluate(
        last.checkpoint,
        vit_run.request.manifest,
        vit_run.request.data_dir,
        "val",
        keep_images=True,
    )
    assert report.primary_value == pytest.approx(last.validation.primary_value)
    assert report.images is not None and len(report.images) == 40


def test_vit_explain_writes_an_overlay(vit_run: Run, tmp_path: Path) -> None:
    image = vit_run.request.data_dir / vit_run.request.manifest.images[0].path
    out = get_trainer("transformers").explain(
        vit_run.hooks.epochs[-1].checkpoint, image, tmp_path / "cam.png", class_id=3
    )
    with Image.open(out) as picture:
        assert picture.size == (VIT_SIZE, VIT_SIZE)
        with Image.open(image) as original:
            # The heat map is blended in: the overlay is not the plain image.
            assert picture.convert("RGB").tobytes() != original.convert("RGB").tobytes()


# --- pretrained weights --------------------------------------------------------------------


def test_pretrained_file_loads_the_backbone_with_a_new_head(tmp_path: Path) -> None:
    torch.manual_seed(1)
    source, _ = build_model("vit-tiny", [f"c{i}" for i in range(7)], 224)
    weights = tmp_path / "vit-tiny.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(weights))

    model, report = build_model(
        "vit-tiny", ["a", "b", "c"], VIT_SIZE, pretrained=True, weights_file=weights
    )
    assert report is not None and report.source == weights.name
    a, b = model.vit.layers[5].attention.q_proj.weight, source.vit.layers[5].attention.q_proj.weight
    assert torch.equal(a, b)
    assert model.classifier.out_features == 3
    assert "classifier.weight" in report.missing
    # Position embeddings of the 14x14 grid were resized to 32 px's 2x2 (+ class token).
    assert model.vit.embeddings.position_embeddings.shape == (1, 5, 192)
    assert torch.equal(
        model.vit.embeddings.position_embeddings[:, 0],
        source.vit.embeddings.position_embeddings[:, 0],
    )


def test_pretrained_file_of_another_model_is_refused(tmp_path: Path) -> None:
    weights = tmp_path / "other.safetensors"
    save_file({"conv.weight": torch.zeros(4, 3, 3, 3)}, str(weights))
    with pytest.raises(ValueError, match="does not hold vit-tiny weights"):
        build_model("vit-tiny", ["a"], VIT_SIZE, pretrained=True, weights_file=weights)


def test_pretrained_comes_from_the_local_hub_cache_or_random_init(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    _NETWORK.clear()
    _WATCH.append(True)
    try:
        _, report = build_model(
            "vit-tiny", ["a", "b"], VIT_SIZE, pretrained=True, hub_cache_dir=empty
        )
    finally:
        _WATCH.clear()
    assert report is None  # not cached: random init
    assert _NETWORK == []  # and nothing asked the network

    # A hub cache as huggingface_hub lays it out, holding "facebook/deit-tiny-patch16-224".
    torch.manual_seed(2)
    source, _ = build_model("vit-tiny", [f"c{i}" for i in range(1000)], 224)
    repo = tmp_path / "hub" / "models--facebook--deit-tiny-patch16-224"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    state = {k: v.contiguous() for k, v in source.state_dict().items()}
    save_file(state, str(snapshot / "model.safetensors"))
    model, report = build_model(
        "vit-tiny", ["a", "b"], VIT_SIZE, pretrained=True, hub_cache_dir=tmp_path / "hub"
    )
    assert report is not None and report.source == "hub:facebook/deit-tiny-patch16-224"
    assert torch.equal(model.vit.layernorm.weight, source.vit.layernorm.weight)
    # The hub's shape (224 px, 1000 classes) has the catalog's parameter count.
    assert count_parameters(source) == catalog.find("transformers", "vit-tiny").parameters


def test_pretrained_yolos_of_the_hub_shape_loads_at_another_size(tmp_path: Path) -> None:
    # hustvl/yolos-tiny's shape: 800 x 1333 px (a 50 x 83 patch grid), COCO's 91 labels.
    torch.manual_seed(3)
    config = YolosConfig(**ARCHITECTURES["yolos-tiny"].config, image_size=[800, 1333])
    config.num_labels = 91
    source = YolosForObjectDetection(config)
    assert count_parameters(source) == 6_488_736  # the hub model's own count
    weights = tmp_path / "yolos.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(weights))

    model, report = build_model(
        "yolos-tiny", DETECTION_CLASSES, YOLOS_SIZE, pretrained=True, weights_file=weights
    )
    assert report is not None and not report.mismatched
    assert torch.equal(
        model.bbox_predictor.layers[2].weight, source.bbox_predictor.layers[2].weight
    )
    assert model.class_labels_classifier.layers[2].out_features == 4  # 3 classes + no object
    pos, src = model.vit.embeddings.position_embeddings, source.vit.embeddings.position_embeddings
    assert pos.shape == (1, 1 + 4 * 4 + 100, 192)  # the 50 x 83 grid resized to 4 x 4
    assert torch.equal(pos[:, -100:], src[:, -100:])  # detection tokens' own embeddings


# --- yolos-tiny ----------------------------------------------------------------------------


def test_yolos_reports_box_map_every_epoch(yolos_run: Run) -> None:
    assert yolos_run.outcome == TrainOutcome(epochs_run=2)
    assert [r.epoch for r in yolos_run.hooks.epochs] == [1, 2]
    for result in yolos_run.hooks.epochs:
        report = result.validation
        assert report.primary_metric == "mAP50-95"
        assert report.direction == "maximize"
        assert isinstance(report.primary_value, float) and 0.0 <= report.primary_value <= 1.0
        assert {"mAP50", "mAP50-95", "precision", "recall"} <= set(report.metrics)
        assert result.images_seen == 8
        assert result.train_metrics["loss"] > 0
        assert load_checkpoint(result.checkpoint)["task_type"] == "object_detection"
    assert [(e, b, n) for e, b, n, _ in yolos_run.hooks.batches] == [
        (e, b, 2) for e in (1, 2) for b in (1, 2)
    ]


def test_yolos_predicts_boxes_inside_the_image(yolos_run: Run) -> None:
    val = [e for e in yolos_run.request.manifest.images if e.split == "val"]
    paths = [yolos_run.request.data_dir / e.path for e in val]
    checkpoint = yolos_run.hooks.epochs[-1].checkpoint
    predictions = get_trainer("transformers").predict(checkpoint, paths, confidence=0.0)
    assert len(predictions) == len(val)
    for p, entry in zip(predictions, val, strict=True):
        assert (p.width, p.height) == (entry.width, entry.height)  # the original size
        assert len(p.instances) == 100  # one per detection token at confidence 0
        confidences = [i.confidence for i in p.instances]
        assert confidences == sorted(confidences, reverse=True)
        for inst in p.instances:
            x, y, w, h = inst.bbox
            assert x >= 0 and y >= 0 and w >= 0 and h >= 0
            assert x + w <= p.width + 1e-3 and y + h <= p.height + 1e-3
            assert inst.class_name == DETECTION_CLASSES[inst.class_id]
    # A confidence threshold keeps only what reaches it.
    strict = get_trainer("transformers").predict(checkpoint, paths[:1], confidence=0.5)
    assert all(i.confidence >= 0.5 for i in strict[0].instances)


def test_yolos_evaluate_and_no_explanations(yolos_run: Run, tmp_path: Path) -> None:
    trainer = get_trainer("transformers")
    checkpoint = yolos_run.hooks.epochs[-1].checkpoint
    report = trainer.evaluate(
        checkpoint, yolos_run.request.manifest, yolos_run.request.data_dir, "val", keep_images=True
    )
    assert report.primary_value == pytest.approx(
        yolos_run.hooks.epochs[-1].validation.primary_value
    )
    assert report.images is not None and len(report.images) == 4
    json.dumps(report.images)  # plain data, ready for a results file
    image = yolos_run.request.data_dir / yolos_run.request.manifest.images[0].path
    with pytest.raises(NotImplementedError):
        trainer.explain(checkpoint, image, tmp_path / "cam.png")


def test_yolos_targets_and_outputs_round_trip_to_a_perfect_map(tmp_path: Path) -> None:
    """The training targets, read back as if the model had predicted them, score mAP 1:
    boxes go to YOLOS's normalized (cx, cy, w, h) and back to each image's pixels."""
    manifest = detection_dataset(tmp_path)
    val = [e for e in manifest.images if e.split == "val"]
    mean, std = ARCHITECTURES["yolos-tiny"].mean, ARCHITECTURES["yolos-tiny"].std
    dataset = DetectionImages(val, tmp_path, YOLOS_SIZE, "none", False, mean, std)
    queries, classes = 8, len(DETECTION_CLASSES)
    logits = torch.full((len(val), queries, classes + 1), -10.0)
    logits[:, :, classes] = 10.0  # unused queries say "no object"
    boxes = torch.full((len(val), queries, 4), 0.5)
    for i in range(len(val)):
        _, target, _ = dataset[i]
        for q, (label, box) in enumerate(zip(target["class_labels"], target["boxes"], strict=True)):
            logits[i, q, classes], logits[i, q, int(label)] = -10.0, 10.0
            boxes[i, q] = box
    predictions = to_predictions(
        logits, boxes, [(e.width, e.height) for e in val], [e.path for e in val],
        DETECTION_CLASSES, threshold=0.5,
    )  # fmt: skip
    assert [len(p.instances) for p in predictions] == [len(e.annotations) for e in val]
    report = detection_report(val, predictions, DETECTION_CLASSES)
    assert report.primary_value == pytest.approx(1.0)
