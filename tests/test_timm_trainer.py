"""The timm trainer on real data: resnet18 from scratch on scikit-learn's digits at 32 px.

One module-scoped run (2 epochs on all 1797 digits) backs the learning, evaluation,
prediction and explanation tests; resume, cancel and early stopping use small subsets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trainers import offline

offline.apply()

import timm  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torch import nn  # noqa: E402

from contract.manifest import Manifest  # noqa: E402
from contract.training_config import validate  # noqa: E402
from tests.digits import digits_dataset  # noqa: E402
from trainers.base import EpochResult, TrainOutcome, TrainRequest, get_trainer  # noqa: E402
from trainers.classification_data import (  # noqa: E402
    ManifestImages,
    build_transform,
    make_loader,
    split_entries,
)
from trainers.gradcam import grad_cam, overlay  # noqa: E402
from trainers.optim import lr_factor  # noqa: E402
from trainers.timm_trainer import (  # noqa: E402
    TimmTrainer,
    build_model,
    load_checkpoint,
)

MODEL = "resnet18"
TASK = "image_classification"


class Recorder:
    """TrainHooks that remember every call; `stop_after` progress calls, it says stop."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after = stop_after
        self.progress_calls: list[tuple[int, int, int, dict[str, float]]] = []
        self.epochs: list[EpochResult] = []

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.progress_calls) >= self.stop_after

    def progress(self, epoch: int, batch: int, batches: int, metrics: dict[str, float]) -> None:
        self.progress_calls.append((epoch, batch, batches, dict(metrics)))

    def epoch_end(self, result: EpochResult) -> None:
        self.epochs.append(result)


def _config(**overrides: Any) -> dict[str, Any]:
    settings = {
        "epochs": 2,
        "batch_size": 64,
        "image_size": 32,
        "augmentation": "none",
        "pretrained": False,
        "seed": 7,
    }
    return validate("timm", TASK, settings | overrides)


def _train(
    manifest: Manifest, data: Path, workdir: Path, hooks: Recorder, **kwargs: Any
) -> TrainOutcome:
    request_args = {k: kwargs.pop(k) for k in ("resume_from", "pretrained_weights") if k in kwargs}
    request = TrainRequest(
        model_name=kwargs.pop("model_name", MODEL),
        task_type=TASK,
        manifest=manifest,
        data_dir=data,
        config=_config(**kwargs),
        workdir=workdir,
        **request_args,
    )
    return get_trainer("timm").train(request, hooks)


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, Path]:
    folder = tmp_path_factory.mktemp("digits")
    return digits_dataset(folder), folder


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, Path]:
    """20 digits of each class: 160 train, 40 val."""
    folder = tmp_path_factory.mktemp("small")
    return digits_dataset(folder, per_class=20), folder


@pytest.fixture(scope="module")
def trained(
    digits: tuple[Manifest, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[TrainOutcome, Recorder]:
    manifest, data = digits
    hooks = Recorder()
    outcome = _train(manifest, data, tmp_path_factory.mktemp("work"), hooks, epochs=2)
    return outcome, hooks


def test_the_trainer_is_registered_as_timm() -> None:
    assert isinstance(get_trainer("timm"), TimmTrainer)


def test_training_learns_the_digits_and_reports_every_epoch(
    digits: tuple[Manifest, Path], trained: tuple[TrainOutcome, Recorder]
) -> None:
    manifest, _ = digits
    outcome, hooks = trained
    assert outcome == TrainOutcome(epochs_run=2)
    assert [r.epoch for r in hooks.epochs] == [1, 2]
    assert all(r.total_epochs == 2 for r in hooks.epochs)
    checkpoints = [r.checkpoint for r in hooks.epochs]
    assert len(set(checkpoints)) == 2 and all(p.is_file() for p in checkpoints)
    train_count = len(split_entries(manifest, "train"))
    assert all(r.images_seen == train_count for r in hooks.epochs)
    final = hooks.epochs[-1].validation
    print(f"val accuracy after 2 epochs: {final.metrics['accuracy']:.3f}")
    assert final.primary_metric == "accuracy"
    assert final.metrics["accuracy"] > 0.5  # chance is 0.1
    assert final.metrics["accuracy"] > hooks.epochs[0].validation.metrics["accuracy"] - 0.05
    assert hooks.epochs[-1].train_metrics["loss"] < hooks.epochs[0].train_metrics["loss"]
    assert final.confusion_matrix is not None and len(final.confusion_matrix) == 10
    # progress every batch, with a running mean loss
    batches = -(-train_count // 64)
    assert len(hooks.progress_calls) == 2 * batches
    assert hooks.progress_calls[-1][:3] == (2, batches, batches)
    assert all(np.isfinite(m["loss"]) for *_, m in hooks.progress_calls)


def test_the_checkpoint_is_self_contained(trained: tuple[TrainOutcome, Recorder]) -> None:
    state = load_checkpoint(trained[1].epochs[-1].checkpoint)
    assert state["model_name"] == MODEL and state["task_type"] == TASK
    assert state["class_names"] == [f"digit_{c}" for c in range(10)]
    assert state["image_size"] == 32 and state["epoch"] == 2
    assert {"model", "optimizer", "scheduler", "rng", "early_stopping"} <= set(state)


def test_every_epoch_says_whether_it_is_the_runs_best_so_far(
    trained: tuple[TrainOutcome, Recorder],
) -> None:
    values = [r.validation.primary_value for r in trained[1].epochs]
    expected = [i == 0 or v > max(values[:i]) for i, v in enumerate(values)]
    assert [r.is_best for r in trained[1].epochs] == expected


def test_evaluate_on_val_equals_the_last_epochs_validation(
    digits: tuple[Manifest, Path], trained: tuple[TrainOutcome, Recorder]
) -> None:
    manifest, data = digits
    last = trained[1].epochs[-1]
    report = TimmTrainer().evaluate(last.checkpoint, manifest, data, "val", keep_images=True)
    assert report.metrics["accuracy"] == last.validation.metrics["accuracy"]
    assert report.metrics["loss"] == pytest.approx(last.validation.metrics["loss"], abs=1e-9)
    assert report.confusion_matrix == last.validation.confusion_matrix
    assert report.images is not None and len(report.images) == len(split_entries(manifest, "val"))


def test_predict_answers_top_5_best_first_with_the_original_size(
    digits: tuple[Manifest, Path], trained: tuple[TrainOutcome, Recorder], tmp_path: Path
) -> None:
    manifest, data = digits
    checkpoint = trained[1].epochs[-1].checkpoint
    val = split_entries(manifest, "val")[:3]
    images = []
    for n, entry in enumerate(val):  # non-square, larger than the model's input
        path = tmp_path / f"probe{n}.png"
        Image.open(data / entry.path).resize((48, 40)).save(path)
        images.append(path)
    predictions = TimmTrainer().predict(checkpoint, images)
    assert [p.image_id for p in predictions] == ["probe0.png", "probe1.png", "probe2.png"]
    for p in predictions:
        assert (p.width, p.height) == (48, 40)
        scores = [c.confidence for c in p.classes]
        assert len(scores) == 5
        assert scores == sorted(scores, reverse=True)
        assert sum(scores) <= 1 + 1e-6
        assert len({c.class_id for c in p.classes}) == 5
        assert all(c.class_name == f"digit_{c.class_id}" for c in p.classes)
    # The same images at their stored size: the same best class as evaluate() gives.
    stored = TimmTrainer().predict(checkpoint, [data / e.path for e in val], top_k=1)
    report = TimmTrainer().evaluate(checkpoint, manifest, data, "val", keep_images=True)
    assert report.images is not None
    best = {r["image_id"]: r["predictions"]["classes"][0]["class_id"] for r in report.images}
    assert [p.classes[0].class_id for p in stored] == [best[e.path] for e in val]


def test_explain_writes_an_overlay_png_of_the_images_size(
    digits: tuple[Manifest, Path], trained: tuple[TrainOutcome, Recorder], tmp_path: Path
) -> None:
    manifest, data = digits
    source = tmp_path / "probe.png"
    Image.open(data / split_entries(manifest, "val")[0].path).resize((60, 44)).save(source)
    out = TimmTrainer().explain(trained[1].epochs[-1].checkpoint, source, tmp_path / "cam.png")
    assert out == tmp_path / "cam.png"
    with Image.open(out) as picture:
        assert picture.format == "PNG" and picture.size == (60, 44)
        blended = np.asarray(picture.convert("RGB"), dtype=np.int16)
    original = np.asarray(Image.open(source).convert("RGB"), dtype=np.int16)
    assert np.abs(blended - original).mean() > 10  # the heatmap is painted over it
    with pytest.raises(ValueError, match="class_id"):
        TimmTrainer().explain(trained[1].epochs[-1].checkpoint, source, tmp_path / "x.png", 10)


def test_a_resumed_run_equals_the_uninterrupted_one(
    small: tuple[Manifest, Path], tmp_path: Path
) -> None:
    manifest, data = small
    straight = Recorder()
    _train(manifest, data, tmp_path / "straight", straight, epochs=2, batch_size=32)
    first = Recorder()
    assert _train(manifest, data, tmp_path / "first", first, epochs=1, batch_size=32) == (
        TrainOutcome(epochs_run=1)
    )
    resumed = Recorder()
    outcome = _train(
        manifest,
        data,
        tmp_path / "resumed",
        resumed,
        epochs=2,
        batch_size=32,
        resume_from=first.epochs[0].checkpoint,
    )
    assert outcome == TrainOutcome(epochs_run=2)
    assert [r.epoch for r in resumed.epochs] == [2]
    assert {c[0] for c in resumed.progress_calls} == {2}
    a = load_checkpoint(straight.epochs[-1].checkpoint)
    b = load_checkpoint(resumed.epochs[-1].checkpoint)
    # Equal weights after epoch 2 need the weights, the optimizer's moments and the
    # epoch's data order and augmentation all restored exactly.
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    assert resumed.epochs[0].validation.metrics == straight.epochs[-1].validation.metrics
    steps = {int(s["step"]) for s in b["optimizer"]["state"].values()}
    assert steps == {2 * 5}  # 160 images in batches of 32, twice


def test_a_finished_run_resumed_trains_nothing(
    small: tuple[Manifest, Path], tmp_path: Path
) -> None:
    manifest, data = small
    first = Recorder()
    _train(manifest, data, tmp_path / "a", first, epochs=1, batch_size=32)
    again = Recorder()
    outcome = _train(
        manifest, data, tmp_path / "b", again, epochs=1, resume_from=first.epochs[0].checkpoint
    )
    assert outcome == TrainOutcome(epochs_run=1) and again.epochs == []


def test_cancel_returns_within_one_batch_without_ending_the_epoch(
    small: tuple[Manifest, Path], tmp_path: Path
) -> None:
    manifest, data = small
    hooks = Recorder(stop_after=3)
    outcome = _train(manifest, data, tmp_path, hooks, epochs=3, batch_size=32)
    assert outcome == TrainOutcome(epochs_run=0, cancelled=True)
    assert len(hooks.progress_calls) == 3  # no batch ran after the stop was seen
    assert hooks.epochs == []


def test_cancel_in_a_later_epoch_keeps_the_finished_ones(
    small: tuple[Manifest, Path], tmp_path: Path
) -> None:
    manifest, data = small
    hooks = Recorder(stop_after=5 + 2)  # 5 batches per epoch: stop in epoch 2
    outcome = _train(manifest, data, tmp_path, hooks, epochs=3, batch_size=32)
    assert outcome == TrainOutcome(epochs_run=1, cancelled=True)
    assert [r.epoch for r in hooks.epochs] == [1]


def test_early_stopping_ends_a_run_whose_metric_cannot_improve(
    small: tuple[Manifest, Path], tmp_path: Path
) -> None:
    """Validation holds only a class absent from training: accuracy stays 0, never better."""
    manifest, data = small
    images = [e for e in manifest.images if e.split == "train" and e.label in (0, 1, 2)]
    images += [e for e in manifest.images if e.split == "val" and e.label == 3]
    unlearnable = manifest.model_copy(update={"images": images})
    hooks = Recorder()
    outcome = _train(
        unlearnable, data, tmp_path, hooks, epochs=6, batch_size=16, early_stopping_patience=1
    )
    assert outcome == TrainOutcome(epochs_run=2, stopped_early=True)
    assert [r.validation.metrics["accuracy"] for r in hooks.epochs] == [0.0, 0.0]
    state = load_checkpoint(hooks.epochs[-1].checkpoint)
    assert state["early_stopping"] == {"best": 0.0, "best_epoch": 1, "bad_epochs": 1}


def test_without_a_val_split_training_validates_on_train(
    small: tuple[Manifest, Path], tmp_path: Path
) -> None:
    manifest, data = small
    train_only = manifest.model_copy(
        update={"images": [e for e in manifest.images if e.split == "train"]}
    )
    hooks = Recorder()
    _train(train_only, data, tmp_path, hooks, epochs=1, batch_size=32)
    assert sum(r["support"] for r in hooks.epochs[0].validation.per_class) == 160


@pytest.mark.parametrize(
    "settings",
    [
        {"optimizer": "sgd", "scheduler": "step", "augmentation": "heavy", "warmup_epochs": 1},
        {"optimizer": "adam", "scheduler": "linear", "augmentation": "standard"},
        {"optimizer": "adamw", "scheduler": "none", "augmentation": "light",
         "label_smoothing": 0.1},
    ],
)  # fmt: skip
def test_every_optimizer_schedule_and_augmentation_trains(
    small: tuple[Manifest, Path], tmp_path: Path, settings: dict[str, Any]
) -> None:
    manifest, data = small
    hooks = Recorder()
    lr = 0.01
    _train(manifest, data, tmp_path, hooks, epochs=2, batch_size=32, learning_rate=lr, **settings)
    assert [r.epoch for r in hooks.epochs] == [1, 2]
    for r in hooks.epochs:
        assert np.isfinite(r.train_metrics["loss"])
        expected = lr * lr_factor(
            settings["scheduler"], r.epoch - 1, 2, settings.get("warmup_epochs", 0)
        )
        assert r.train_metrics["lr"] == pytest.approx(expected)
    state = load_checkpoint(hooks.epochs[-1].checkpoint)
    assert state["config"]["optimizer"] == settings["optimizer"]


def test_learning_rate_schedules() -> None:
    assert [lr_factor("none", e, 4) for e in range(4)] == [1.0] * 4
    assert [lr_factor("linear", e, 4) for e in range(4)] == [1.0, 0.75, 0.5, 0.25]
    assert [round(lr_factor("cosine", e, 4), 6) for e in range(4)] == [1.0, 0.853553, 0.5, 0.146447]
    assert [lr_factor("step", e, 9) for e in range(9)] == pytest.approx(
        [1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01]
    )
    # warm-up rises linearly, then the schedule starts from its top
    assert [lr_factor("cosine", e, 5, warmup_epochs=2) for e in range(3)] == pytest.approx(
        [1 / 3, 2 / 3, 1.0]
    )
    with pytest.raises(ValueError):
        lr_factor("exponential", 0, 3)


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_a_pretrained_weights_file_loads_the_backbone_and_a_fresh_head(
    tmp_path: Path, suffix: str
) -> None:
    torch.manual_seed(123)
    source = timm.create_model(MODEL, pretrained=False, num_classes=1000)
    path = tmp_path / f"weights{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(source.state_dict(), str(path))
    else:
        torch.save(source.state_dict(), path)
    model, loaded = build_model(MODEL, 10, 32, pretrained=True, weights_file=path)
    assert loaded
    assert torch.equal(model.conv1.weight, source.conv1.weight)
    assert torch.equal(model.layer4[1].conv2.weight, source.layer4[1].conv2.weight)
    assert model.fc.out_features == 10
    assert not torch.equal(model.fc.weight, source.fc.weight[:10])


def test_a_weights_file_of_another_architecture_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "resnet18.pth"
    torch.save(timm.create_model(MODEL, pretrained=False).state_dict(), path)
    with pytest.raises(ValueError, match="resnet34"):
        build_model("resnet34", 10, 32, pretrained=True, weights_file=path)


def test_pretrained_without_local_weights_falls_back_to_random_init_visibly(
    small: tuple[Manifest, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    _, loaded = build_model(MODEL, 10, 32, pretrained=True)
    assert not loaded
    manifest, data = small
    hooks = Recorder()
    _train(manifest, data, tmp_path / "w", hooks, epochs=1, batch_size=32, pretrained=True)
    assert hooks.epochs[0].train_metrics["pretrained_loaded"] == 0.0


def test_training_from_a_weights_file_reports_it_loaded(
    small: tuple[Manifest, Path], tmp_path: Path
) -> None:
    path = tmp_path / "weights.pth"
    torch.save(timm.create_model(MODEL, pretrained=False).state_dict(), path)
    manifest, data = small
    hooks = Recorder()
    _train(
        manifest, data, tmp_path / "w", hooks, epochs=1, batch_size=32, pretrained=True,
        pretrained_weights=path,
    )  # fmt: skip
    assert hooks.epochs[0].train_metrics["pretrained_loaded"] == 1.0
    assert "pretrained_loaded" not in _first_epoch_metrics(manifest, data, tmp_path / "x")


def _first_epoch_metrics(manifest: Manifest, data: Path, workdir: Path) -> dict[str, float]:
    hooks = Recorder()
    _train(manifest, data, workdir, hooks, epochs=1, batch_size=32, pretrained=False)
    return hooks.epochs[0].train_metrics


# --- the data pipeline ---------------------------------------------------------------------


@pytest.mark.parametrize("level", ["none", "light", "standard", "heavy"])
def test_every_augmentation_level_gives_normalized_tensors_of_the_size(
    small: tuple[Manifest, Path], level: str
) -> None:
    manifest, data = small
    transform = build_transform(24, level, True, [0.5] * 3, [0.5] * 3)
    dataset = ManifestImages(split_entries(manifest, "train"), data, transform)
    x, y = next(iter(make_loader(dataset, 8, shuffle=True, seed=1)))
    assert x.shape == (8, 3, 24, 24) and x.dtype == torch.float32 and y.shape == (8,)
    assert x.min() >= -1.0 and x.max() <= 1.0


def test_the_loader_order_is_fixed_by_the_seed(small: tuple[Manifest, Path]) -> None:
    manifest, data = small
    dataset = ManifestImages(split_entries(manifest, "train"), data, build_transform(
        16, "none", False, [0.5] * 3, [0.5] * 3))  # fmt: skip

    def labels(seed: int) -> list[int]:
        return [int(v) for _, y in make_loader(dataset, 16, True, seed=seed) for v in y]

    assert labels(3) == labels(3)
    assert labels(3) != labels(4)


def test_a_lone_last_training_image_is_dropped(small: tuple[Manifest, Path]) -> None:
    """BatchNorm cannot train on one image; an evaluation loader keeps it."""
    manifest, data = small
    entries = split_entries(manifest, "train")[:9]
    dataset = ManifestImages(entries, data, build_transform(16, "none", True, [0.5] * 3, [0.5] * 3))
    assert len(make_loader(dataset, 4, shuffle=True)) == 2
    assert len(make_loader(dataset, 4, shuffle=False)) == 3


# --- Grad-CAM ------------------------------------------------------------------------------


def _bright_corner_model() -> nn.Module:
    """Class 0's score is the mean activation, class 1's its negative."""
    conv = nn.Conv2d(3, 4, 3, padding=1)
    nn.init.constant_(conv.weight, 1 / 27)
    nn.init.zeros_(conv.bias)
    head = nn.Linear(4, 2)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0] * 4, [-1.0] * 4]))
        head.bias.zero_()
    return nn.Sequential(conv, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), head)


def test_grad_cam_points_at_what_raised_the_score() -> None:
    image = torch.zeros(1, 3, 32, 32)
    image[:, :, 2:10, 20:30] = 1.0  # a bright patch in the top-right corner
    result = grad_cam(_bright_corner_model(), image, class_id=0)
    assert result.method == "gradcam" and result.class_id == 0
    assert result.heatmap.shape == (32, 32)
    assert result.heatmap.min() == 0.0 and result.heatmap.max() == 1.0
    y, x = np.unravel_index(result.heatmap.argmax(), result.heatmap.shape)
    assert 2 <= y < 10 and 20 <= x < 30
    assert result.heatmap[20:, :12].max() < 0.05  # the dark bottom-left stays cold


def test_grad_cam_falls_back_to_saliency_when_the_map_is_empty() -> None:
    """Class 1 is lowered by every activation: Grad-CAM's ReLU leaves nothing."""
    image = torch.zeros(1, 3, 32, 32)
    image[:, :, 2:10, 20:30] = 1.0
    result = grad_cam(_bright_corner_model(), image, class_id=1)
    assert result.method == "saliency"
    assert result.heatmap.min() == 0.0 and result.heatmap.max() == 1.0


def test_grad_cam_uses_the_last_map_with_more_than_one_position_in_a_resnet() -> None:
    torch.manual_seed(0)
    model = timm.create_model(MODEL, pretrained=False, num_classes=10)
    x = torch.randn(1, 3, 64, 64)
    result = grad_cam(model, x)  # layer4 is 2 x 2 here
    assert result.method == "gradcam" and result.heatmap.shape == (64, 64)
    with torch.no_grad():
        assert result.class_id == int(model(x).argmax())  # default: the predicted class


def test_grad_cam_on_a_vit_explains_the_patch_tokens() -> None:
    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=3, img_size=64)
    result = grad_cam(model, torch.randn(1, 3, 64, 64), class_id=2)
    assert result.method == "gradcam-tokens" and result.class_id == 2
    assert result.heatmap.shape == (64, 64)
    assert result.heatmap.min() == 0.0 and result.heatmap.max() == 1.0


def test_overlay_blends_a_colour_map_over_the_image_at_its_size() -> None:
    image = Image.new("L", (40, 30), color=128)
    heatmap = np.zeros((8, 8), dtype=np.float32)
    heatmap[:, 4:] = 1.0  # hot on the right
    out = overlay(image, heatmap)
    assert out.mode == "RGB" and out.size == (40, 30)
    pixels = np.asarray(out, dtype=np.int16)
    left, right = pixels[:, 2], pixels[:, -2]
    assert (left[:, 2] > left[:, 0]).all()  # cold: blue over grey
    assert (right[:, 0] > right[:, 2]).all()  # hot: red over grey
