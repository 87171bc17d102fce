"""Semantic segmentation end to end on real data, tiny: SegFormer-B0 (built from its
embedded config, no hub weights) trained by the transformers trainer on masks made from
scikit-learn's digits, measured (per-class IoU, mIoU) against a numpy computation
written here, exported to ONNX (ONNX Runtime vs PyTorch), decoded by vap_runtime and
served by `POST /v1/infer` as a PNG mask.

The dataset: digits 0 and 1 upscaled to 32 px RGB; their masks (built from the same
pixels): stroke pixels (grey >= 128) are the digit's class, dark pixels (< 64) are
"background" (class 0), the blurred rim between them is void (255).
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trainers import offline

offline.apply()

import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from contract.manifest import Annotation, ImageEntry, Manifest, Rle  # noqa: E402
from contract.training_config import validate  # noqa: E402
from tests.training import RecordingHooks  # noqa: E402
from trainers.base import EvalReport, TrainRequest, get_trainer  # noqa: E402
from trainers.metrics.semantic import semantic_report  # noqa: E402
from trainers.transformers_segformer import class_map  # noqa: E402
from trainers.transformers_trainer import load_checkpoint, model_from_checkpoint  # noqa: E402

CLASSES = ["background", "digit_0", "digit_1"]
DIGITS = (0, 1)  # class id = digit + 1
PER_DIGIT = 30  # 48 training and 12 validation images
SIZE = 32
VOID = 255
EPOCHS = 3
ONNX_TOLERANCE = 1e-4  # ONNX Runtime vs PyTorch, fp32 logits


# --- the dataset ---------------------------------------------------------------------------


def encode_rle(mask: np.ndarray) -> list[int]:
    """COCO's uncompressed RLE of a bool mask: run lengths in column-major order, the
    first run of 0s (possibly empty)."""
    flat = np.asarray(mask, bool).T.reshape(-1)
    changes = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.r_[0, changes, flat.size]
    runs = np.diff(bounds).tolist()
    return ([0] + runs) if flat[0] else runs


def annotations(mask: np.ndarray) -> list[Annotation]:
    """One annotation per class present (COCO-Stuff's semantic layout); void is left out."""
    out = []
    for c in sorted(set(np.unique(mask).tolist()) - {VOID}):
        ys, xs = np.nonzero(mask == c)
        bbox = (float(xs.min()), float(ys.min()), float(np.ptp(xs) + 1), float(np.ptp(ys) + 1))
        rle = Rle(size=mask.shape, counts=encode_rle(mask == c))
        out.append(Annotation(class_id=c, bbox=bbox, rle=rle))
    return out


def digit_masks(folder: Path) -> tuple[Manifest, dict[str, np.ndarray]]:
    """The digits as PNGs under `folder`, their manifest, and the mask of each image."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    entries, masks = [], {}
    for digit in DIGITS:
        for n, i in enumerate(np.flatnonzero(digits.target == digit)[:PER_DIGIT]):
            grey = Image.fromarray((digits.images[i] * (255 / 16)).astype(np.uint8))
            grey = grey.resize((SIZE, SIZE), Image.Resampling.BILINEAR)
            value = np.asarray(grey)
            mask = np.full(value.shape, VOID, np.uint8)
            mask[value >= 128] = digit + 1
            mask[value < 64] = 0
            split = "val" if n % 5 == 4 else "train"
            rel = f"{split}/{i:04d}.png"
            buf = io.BytesIO()
            grey.convert("RGB").save(buf, format="PNG")
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(buf.getvalue())
            masks[rel] = mask
            entries.append(
                ImageEntry(
                    path=rel, split=split, width=SIZE, height=SIZE,  # type: ignore[arg-type]
                    size=len(buf.getvalue()), sha256=hashlib.sha256(buf.getvalue()).hexdigest(),
                    annotations=annotations(mask),
                )
            )  # fmt: skip
    manifest = Manifest(
        task_type="semantic_segmentation",
        source_format="semantic_masks",
        classes=list(CLASSES),
        images=entries,
    )
    return manifest, masks


# --- the independent measure ---------------------------------------------------------------


def numpy_iou(truth: list[np.ndarray], predicted: list[np.ndarray], n: int) -> list[float]:
    """Per-class IoU by boolean masks over every image (void pixels left out); NaN for a
    class in neither: no confusion matrix involved."""
    out = []
    for c in range(n):
        inter = union = 0
        for t, p in zip(truth, predicted, strict=True):
            valid = t != VOID
            inter += int(np.sum((t == c) & (p == c) & valid))
            union += int(np.sum(((t == c) | (p == c)) & valid))
        out.append(inter / union if union else float("nan"))
    return out


def check_report(report: EvalReport, truth: list[np.ndarray], predicted: list[np.ndarray]) -> None:
    ious = numpy_iou(truth, predicted, len(CLASSES))
    assert report.primary_metric == "mIoU" and report.direction == "maximize"
    assert report.primary_value == pytest.approx(np.nanmean(ious), abs=1e-9)
    assert report.metrics["mIoU"] == report.primary_value
    for row, iou in zip(report.per_class, ious, strict=True):
        assert (row["iou"] is None) if np.isnan(iou) else row["iou"] == pytest.approx(iou)
    valid = np.concatenate([t[t != VOID] for t in truth])
    hits = np.concatenate([(p == t)[t != VOID] for t, p in zip(truth, predicted, strict=True)])
    assert valid.size == sum(row["pixels"] for row in report.per_class)
    assert report.metrics["pixel_accuracy"] == pytest.approx(hits.mean())


def test_iou_and_miou_are_what_a_plain_numpy_count_gives() -> None:
    rng = np.random.default_rng(7)
    truth = [rng.integers(0, 3, (9, 11)).astype(np.uint8) for _ in range(4)]
    for t in truth:
        t[rng.random(t.shape) < 0.2] = VOID
    predicted = [rng.integers(0, 3, (9, 11)) for _ in range(4)]
    from trainers.metrics.semantic import confusion

    cm = sum(confusion(t, p, 4) for t, p in zip(truth, predicted, strict=True))
    report = semantic_report(cm, [*CLASSES, "never_seen"])
    check_report(
        EvalReport(
            report.primary_metric, report.primary_value, report.direction, report.metrics,
            report.per_class[:3],
        ),
        truth, predicted,
    )  # fmt: skip
    # a class neither in the truth nor predicted has no IoU and does not lower the mean
    assert report.per_class[3]["iou"] is None
    assert report.primary_value == pytest.approx(np.mean([r["iou"] for r in report.per_class[:3]]))


def test_the_manifest_masks_decode_to_the_pixels_they_were_made_from(tmp_path: Path) -> None:
    manifest, masks = digit_masks(tmp_path)
    for entry in manifest.images:
        assert np.array_equal(class_map(entry), masks[entry.path])
    # COCO's compressed RLE strings (pycocotools) decode to the same pixels
    from pycocotools import mask as mask_utils

    entry = manifest.images[0]
    compressed = []
    for ann in entry.annotations:
        m = np.asfortranarray((masks[entry.path] == ann.class_id).astype(np.uint8))
        counts = mask_utils.encode(m)["counts"].decode()
        compressed.append(ann.model_copy(update={"rle": Rle(size=(SIZE, SIZE), counts=counts)}))
    same = entry.model_copy(update={"annotations": compressed})
    assert np.array_equal(class_map(same), masks[entry.path])
    assert (masks[entry.path] == VOID).any()  # the void rim is there, and stays void


# --- a real training run -------------------------------------------------------------------


@dataclass
class Run:
    data: Path
    manifest: Manifest
    masks: dict[str, np.ndarray]
    hooks: RecordingHooks
    work: Path

    @property
    def checkpoint(self) -> Path:
        return self.hooks.epochs[-1].checkpoint

    def val(self) -> list[ImageEntry]:
        return [e for e in self.manifest.images if e.split == "val"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    data = tmp_path_factory.mktemp("digit-masks")
    manifest, masks = digit_masks(data)
    config = validate(
        "transformers",
        "semantic_segmentation",
        dict(
            epochs=EPOCHS, batch_size=8, learning_rate=2e-3, image_size=SIZE, pretrained=False,
            augmentation="light", scheduler="none", warmup_epochs=0,
        ),
    )  # fmt: skip
    work = tmp_path_factory.mktemp("segformer")
    request = TrainRequest("segformer-b0", "semantic_segmentation", manifest, data, config, work)
    hooks = RecordingHooks()
    get_trainer("transformers").train(request, hooks)
    return Run(data, manifest, masks, hooks, work)


def _pytorch_logits(checkpoint: Path, pictures: list[Image.Image]) -> np.ndarray:
    """The checkpoint's logits at the input size, computed here from the raw HF model."""
    state = load_checkpoint(checkpoint)
    model = model_from_checkpoint(state).eval()
    size = int(state["image_size"])
    mean = np.asarray(state["mean"], np.float32)[:, None, None]
    std = np.asarray(state["std"], np.float32)[:, None, None]
    x = np.stack(
        [
            (np.asarray(p.resize((size, size), Image.Resampling.BILINEAR), np.float32)
             .transpose(2, 0, 1) / 255 - mean) / std
            for p in pictures
        ]
    ).astype(np.float32)  # fmt: skip
    with torch.no_grad():
        low = model(pixel_values=torch.from_numpy(x)).logits
        up = torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear")
    return up.numpy()


def test_training_reports_miou_every_epoch_and_learns_the_digits(run: Run) -> None:
    epochs = run.hooks.epochs
    assert [e.epoch for e in epochs] == list(range(1, EPOCHS + 1))
    for e in epochs:
        assert e.images_seen == 48
        assert e.validation.primary_metric == "mIoU"
        assert [r["class_name"] for r in e.validation.per_class] == CLASSES
        assert set(e.validation.metrics) == {"mIoU", "pixel_accuracy", "mean_accuracy"}
        assert load_checkpoint(e.checkpoint)["task_type"] == "semantic_segmentation"
    first, last = epochs[0], epochs[-1]
    print(
        f"segformer-b0 digits masks: loss {first.train_metrics['loss']:.3f} -> "
        f"{last.train_metrics['loss']:.3f}; val mIoU {first.validation.primary_value:.3f} -> "
        f"{last.validation.primary_value:.3f}, pixel accuracy "
        f"{last.validation.metrics['pixel_accuracy']:.3f}, per class "
        f"{[round(r['iou'], 3) for r in last.validation.per_class]}"
    )
    assert last.train_metrics["loss"] < first.train_metrics["loss"]
    # Everything called background scores IoU(bg) / 3 at most (< 0.3 here): the model
    # must find the digits' pixels and tell zeros from ones (measured, epochs 1-3: 0.95,
    # 0.62, 0.99; lr 2e-3 without a schedule is jumpy, 2 epochs would end on the dip).
    truth = [run.masks[e.path] for e in run.val()]
    all_background = numpy_iou(truth, [np.zeros_like(t) for t in truth], len(CLASSES))
    assert np.nanmean(all_background) < 0.3
    assert last.validation.primary_value > 0.8
    assert all(r["iou"] > 0.6 for r in last.validation.per_class)


def test_evaluate_measures_what_an_independent_count_measures(run: Run) -> None:
    report = get_trainer("transformers").evaluate(
        run.checkpoint, run.manifest, run.data, "val", keep_images=True
    )
    pictures = [Image.open(run.data / e.path).convert("RGB") for e in run.val()]
    predicted = list(_pytorch_logits(run.checkpoint, pictures).argmax(axis=1))
    check_report(report, [run.masks[e.path] for e in run.val()], predicted)
    assert report.metrics == run.hooks.epochs[-1].validation.metrics  # the same model
    assert report.images is not None and len(report.images) == len(run.val())
    assert {i["image_id"] for i in report.images} == {e.path for e in run.val()}


def test_evaluate_matches_classes_by_name(run: Run) -> None:
    """A dataset listing the classes in another order is measured in the model's order."""
    order = [2, 0, 1]  # new id -> old id
    renamed = run.manifest.model_copy(
        update={
            "classes": [CLASSES[o] for o in order],
            "images": [
                e.model_copy(
                    update={
                        "annotations": [
                            a.model_copy(update={"class_id": order.index(a.class_id)})
                            for a in e.annotations
                        ]
                    }
                )
                for e in run.manifest.images
            ],
        }
    )
    trainer = get_trainer("transformers")
    same = trainer.evaluate(run.checkpoint, renamed, run.data, "val")
    assert same.metrics == run.hooks.epochs[-1].validation.metrics
    with pytest.raises(ValueError, match="does not know"):
        unknown = renamed.model_copy(update={"classes": ["sky", *renamed.classes[1:]]})
        trainer.evaluate(run.checkpoint, unknown, run.data, "val")


# --- export, runtime and endpoint ----------------------------------------------------------


@pytest.fixture(scope="module")
def exported(run: Run, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from exporters.registry import export

    return export(
        run.checkpoint, "transformers", "onnx", tmp_path_factory.mktemp("onnx"), latency_runs=1
    )


def _odd_picture(run: Run) -> Image.Image:
    """A val digit stretched to a size that is not the model's (45 x 37)."""
    path = run.data / run.val()[0].path
    return Image.open(path).convert("RGB").resize((45, 37), Image.Resampling.BILINEAR)


def test_onnx_runtime_computes_what_pytorch_computes(run: Run, exported: Any) -> None:
    from vap_runtime import Model

    meta = exported.metadata
    assert meta["task_type"] == "semantic_segmentation"
    assert meta["postprocessing"]["kind"] == "semantic_mask"
    assert [o["name"] for o in meta["outputs"]] == ["logits"]
    model = Model(exported.model_file.parent)
    pictures = [Image.open(run.data / e.path).convert("RGB") for e in run.val()[:4]]
    x = np.concatenate([model.preprocess(p)[0] for p in [*pictures, _odd_picture(run)]])
    session = ort.InferenceSession(str(exported.model_file), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"images": x})
    from exporters.transformers_source import transformers_source

    with torch.no_grad():
        expected = transformers_source(run.checkpoint).module(torch.from_numpy(x)).numpy()
    assert got.shape == expected.shape == (5, len(CLASSES), SIZE, SIZE)
    diff = float(np.abs(got - expected).max())
    print(f"segformer ONNX vs PyTorch logits: max abs diff {diff:.2e}")
    assert diff < ONNX_TOLERANCE
    # and the graph is the model the trainer measured: the HF model's logits, upsampled
    assert np.abs(expected[:4] - _pytorch_logits(run.checkpoint, pictures)).max() < 1e-4


def decode_mask(mask: dict[str, Any]) -> np.ndarray:
    assert mask["encoding"] == "png_base64"
    with Image.open(io.BytesIO(base64.b64decode(mask["data"]))) as png:
        return np.asarray(png)


def _expected_mask(run: Run, picture: Image.Image) -> np.ndarray:
    """PyTorch's best class per input pixel, stretched to the picture (nearest)."""
    best = _pytorch_logits(run.checkpoint, [picture])[0].argmax(axis=0).astype(np.uint8)
    stretched = Image.fromarray(best).resize(picture.size, Image.Resampling.NEAREST)
    return np.asarray(stretched)


def test_vap_runtime_returns_the_mask_pytorch_predicts_at_the_images_size(
    run: Run, exported: Any
) -> None:
    from vap_runtime import Model

    model = Model(exported.model_file.parent)
    for picture in [Image.open(run.data / run.val()[1].path).convert("RGB"), _odd_picture(run)]:
        result = model.predict(picture)
        assert result["classes"] == [] and result["instances"] == []
        mask = decode_mask(result["mask"])
        assert (
            mask.shape
            == (picture.height, picture.width)
            == (
                result["mask"]["height"],
                result["mask"]["width"],
            )
        )
        expected = _expected_mask(run, picture)
        assert np.mean(mask == expected) > 0.99  # a near-tied pixel may flip
        present = {c["class_id"]: c["pixels"] for c in result["mask"]["classes"]}
        assert present == {int(c): int(np.sum(mask == c)) for c in np.unique(mask)}
        assert all(c["class_name"] == CLASSES[c["class_id"]] for c in result["mask"]["classes"])


def test_the_endpoint_answers_with_the_mask(run: Run, exported: Any, client, make_user) -> None:  # type: ignore[no-untyped-def]
    from exporters.package import build_package
    from tests.test_deployments import Exported, export_row, training_job

    package = build_package(exported, exported.model_file.parent.parent / "package.zip")
    stored = Exported(
        folder=exported.model_file.parent,
        model_file=exported.model_file,
        metadata_file=exported.metadata_file,
        package=package,
        checksum_sha256=hashlib.sha256(exported.model_file.read_bytes()).hexdigest(),
    )
    account = make_user("engineer_i")
    job = training_job(client, account.headers)
    export_id = export_row(
        account.id, job, stored, task_type="semantic_segmentation", framework="transformers"
    )
    r = client.post(
        "/api/v1/deployments",
        json={"export_job_id": export_id, "strategy": "platform_endpoint", "name": "masks"},
        headers=account.headers,
    )
    assert r.status_code == 201, r.text
    deployment = r.json()
    picture = _odd_picture(run)
    png = io.BytesIO()
    picture.save(png, format="PNG")
    answer = client.post(
        f"/v1/infer/{deployment['id']}",
        headers={"Authorization": f"Bearer {deployment['api_key']}"},
        json={"image": base64.b64encode(png.getvalue()).decode()},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["task_type"] == "semantic_segmentation"
    assert (body["width"], body["height"]) == (45, 37)
    mask = decode_mask(body["mask"])
    assert mask.shape == (37, 45)
    assert np.mean(mask == _expected_mask(run, picture)) > 0.99
    assert {c["class_name"] for c in body["mask"]["classes"]} <= set(CLASSES)
