"""Semantic segmentation in test runs, inference jobs and export validation, on the tiny
SegFormer-B0 that tests/test_semantic_segmentation.py trains (its fixtures, reused):

- a test run's per-image results carry the predicted and the true mask and the image's
  own IoU figures, checked against a numpy count written here;
- `predict` (what an inference job publishes) answers masks in vap_runtime's shape,
  the ones PyTorch and the exported model predict;
- post-export validation scores the ONNX export with mIoU and passes it, and fails an
  export of a worse checkpoint by the same rule as other tasks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from contract.predictions import ImagePrediction, ImageResult
from exporters import predictor
from functions import export_check
from tests import test_semantic_segmentation as trained
from tests.test_semantic_segmentation import (
    CLASSES,
    VOID,
    Run,
    _expected_mask,
    _odd_picture,
    _pytorch_logits,
    check_report,
    decode_mask,
    numpy_iou,
)
from trainers.base import get_trainer

# The training run and its ONNX export, as that file's fixtures make them.
run, exported = trained.run, trained.exported

MAX_DROP = 0.02  # the export job's default max_metric_drop


def numpy_miou(truth: list[np.ndarray], predicted: list[np.ndarray]) -> float:
    return float(np.nanmean(numpy_iou(truth, predicted, len(CLASSES))))


def _val_pictures(run: Run) -> list[Image.Image]:
    return [Image.open(run.data / e.path).convert("RGB") for e in run.val()]


@pytest.fixture(scope="module")
def tested(run: Run) -> Any:
    """What a test run measures and publishes (functions/evaluate.py: evaluate with
    keep_images)."""
    return get_trainer("transformers").evaluate(
        run.checkpoint, run.manifest, run.data, "val", keep_images=True
    )


# --- test runs -----------------------------------------------------------------------------


def test_a_test_run_reports_overall_miou_as_a_numpy_count_does(run: Run, tested: Any) -> None:
    predicted = list(_pytorch_logits(run.checkpoint, _val_pictures(run)).argmax(axis=1))
    check_report(tested, [run.masks[e.path] for e in run.val()], predicted)
    assert tested.primary_value > 0.8  # the model learnt (the training test's bound)


def test_each_test_run_image_has_its_masks_and_its_own_iou(run: Run, tested: Any) -> None:
    assert tested.images is not None and len(tested.images) == len(run.val())
    expected = _pytorch_logits(run.checkpoint, _val_pictures(run)).argmax(axis=1)
    for item, entry, best in zip(tested.images, run.val(), expected, strict=True):
        ImageResult.model_validate(item)  # the results file's per-image shape
        truth = run.masks[entry.path]
        predicted = decode_mask(item["predictions"]["mask"])
        assert np.array_equal(predicted, best)
        assert np.array_equal(decode_mask(item["ground_truth"]["mask"]), truth)  # void kept
        ious = numpy_iou([truth], [predicted], len(CLASSES))
        metrics = item["metrics"]
        assert metrics["mIoU"] == pytest.approx(np.nanmean(ious))
        valid = truth != VOID
        assert metrics["pixel_accuracy"] == pytest.approx(np.mean(predicted[valid] == truth[valid]))
        for name, iou in zip(CLASSES, ious, strict=True):
            if np.isnan(iou):
                assert f"IoU/{name}" not in metrics
            else:
                assert metrics[f"IoU/{name}"] == pytest.approx(iou)
        # the truth's classes count its pixels, void left out
        present = {c["class_id"]: c["pixels"] for c in item["ground_truth"]["mask"]["classes"]}
        assert present == {int(c): int(np.sum(truth == c)) for c in np.unique(truth[valid])}
    # per image, not the same figure copied: the images do differ
    assert len({round(i["metrics"]["mIoU"], 9) for i in tested.images}) > 1


def test_the_test_run_picture_tints_the_predicted_mask(
    run: Run, tested: Any, tmp_path: Path
) -> None:
    from functions.results import picture

    item = tested.images[0]
    trainer = get_trainer("transformers")
    image = run.data / item["image_id"]
    out = picture(trainer, run.checkpoint, "cpu", False, image, tmp_path / "p.png",
                  item["predictions"], item["ground_truth"])  # fmt: skip
    drawn = np.asarray(Image.open(out).convert("RGB"), np.int64)
    plain = np.asarray(
        Image.open(image).convert("RGB").resize(drawn.shape[1::-1]), np.int64
    )  # the same upscaling draw() does
    tinted = np.abs(drawn - plain).sum(axis=2) > 30
    # away from the legend in the top-left corner, every pixel of a class is tinted
    body = np.zeros_like(tinted)
    body[80:, :] = True
    assert tinted[body].mean() > 0.95


# --- inference jobs ------------------------------------------------------------------------


def test_predict_answers_masks_at_each_images_size_as_pytorch_and_the_export_do(
    run: Run, exported: Any, tmp_path: Path
) -> None:
    from vap_runtime import Model

    odd = tmp_path / "odd.png"
    _odd_picture(run).save(odd)
    files = [run.data / run.val()[1].path, odd]
    found = get_trainer("transformers").predict(run.checkpoint, files)
    export = Model(exported.model_file.parent)
    for path, pred in zip(files, found, strict=True):
        picture = Image.open(path).convert("RGB")
        assert (pred.image_id, pred.width, pred.height) == (path.name, *picture.size)
        assert pred.classes == [] and pred.instances == [] and pred.mask is not None
        # what an inference job writes (functions/infer.py) is vap_runtime's shape
        written = pred.model_copy(update={"image_id": "x"}).model_dump()
        served = export.predict(picture)
        assert set(written) == set(served) and set(written["mask"]) == set(served["mask"])
        mask = decode_mask(written["mask"])
        assert mask.shape == (picture.height, picture.width)
        assert np.mean(mask == _expected_mask(run, picture)) > 0.99
        assert np.mean(mask == decode_mask(served["mask"])) > 0.99
        counts = {c["class_id"]: c["pixels"] for c in written["mask"]["classes"]}
        assert counts == {int(c): int(np.sum(mask == c)) for c in np.unique(mask)}
        assert {c["class_name"] for c in written["mask"]["classes"]} <= set(CLASSES)


def test_predictions_of_other_tasks_have_no_mask_key() -> None:
    plain = ImagePrediction(image_id="a.png", width=4, height=3)
    assert "mask" not in plain.model_dump() and "mask" not in plain.model_dump_json()


# --- export validation ---------------------------------------------------------------------


def test_export_validation_scores_the_onnx_masks_with_miou_and_passes(
    run: Run, exported: Any, tested: Any
) -> None:
    model = predictor.load(exported.model_file.parent)
    report, predictions = export_check.measure(
        model, run.manifest, run.data, "val", "semantic_segmentation"
    )
    truth = [run.masks[e.path] for e in run.val()]
    masks = [decode_mask(model.predict(p)["mask"]) for p in _val_pictures(run)]
    assert report.primary_metric == "mIoU"
    assert report.primary_value == pytest.approx(numpy_miou(truth, masks), abs=1e-9)
    outcome = export_check.compare(tested, report, MAX_DROP)
    outcome.update(
        export_check.agreement("semantic_segmentation", tested.images or [], predictions)
    )
    print(
        f"segformer export check: checkpoint mIoU {outcome['checkpoint']:.4f}, ONNX "
        f"{outcome['exported']:.4f}, pixel agreement {outcome['pixel_agreement']:.4f}"
    )
    assert outcome["metric"] == "mIoU" and outcome["passed"] is True
    assert outcome["checkpoint"] == pytest.approx(numpy_miou(truth, [
        decode_mask(i["predictions"]["mask"]) for i in tested.images
    ]))  # fmt: skip
    assert abs(outcome["drop"]) <= 0.005
    reference = [decode_mask(i["predictions"]["mask"]) for i in tested.images]
    same = sum(int(np.sum(a == b)) for a, b in zip(reference, masks, strict=True))
    assert outcome["pixel_agreement"] == pytest.approx(same / sum(m.size for m in masks))
    assert outcome["pixel_agreement"] > 0.99


def test_export_validation_fails_an_export_of_a_worse_model(
    run: Run, tested: Any, tmp_path: Path
) -> None:
    """The worst earlier epoch's checkpoint, exported, measured against the last one:
    the same rule as for classification and detection (the drop of the primary metric
    against max_metric_drop)."""
    from exporters.registry import export

    worst = min(run.hooks.epochs[:-1], key=lambda e: e.validation.primary_value)
    early = export(worst.checkpoint, "transformers", "onnx", tmp_path, latency_runs=1)
    report, _ = export_check.measure(
        predictor.load(early.model_file.parent), run.manifest, run.data, "val",
        "semantic_segmentation",
    )  # fmt: skip
    # the export scores what the trainer measured of that epoch (same pixels, same code)
    assert report.primary_value == pytest.approx(worst.validation.primary_value, abs=0.01)
    outcome = export_check.compare(tested, report, MAX_DROP)
    drop = tested.primary_value - report.primary_value
    print(f"worse export: mIoU {tested.primary_value:.4f} -> {report.primary_value:.4f}")
    assert outcome["drop"] == pytest.approx(drop) and drop > MAX_DROP
    assert outcome["passed"] is False
    # and a bound the drop exceeds fails it, one it stays under passes it
    assert export_check.compare(tested, report, drop - 1e-6)["passed"] is False
    assert export_check.compare(tested, report, drop + 1e-6)["passed"] is True


def test_a_task_without_a_check_is_refused_by_name(run: Run, exported: Any) -> None:
    model = predictor.load(exported.model_file.parent)
    with pytest.raises(ValueError, match="depth_estimation"):
        export_check.measure(model, run.manifest, run.data, "val", "depth_estimation")
