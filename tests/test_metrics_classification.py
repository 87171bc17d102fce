"""Our numpy classification metrics equal scikit-learn's on random and edge-case predictions."""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest
from sklearn import metrics as skm

from trainers.metrics.classification import classification_report

TOL = 1e-9


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _one_hot(ids: np.ndarray, n_classes: int, hot: float = 1.0) -> np.ndarray:
    """Probability `hot` on `ids`, the rest spread evenly (exact ties among the rest)."""
    p = np.full((ids.size, n_classes), (1 - hot) / (n_classes - 1))
    p[np.arange(ids.size), ids] = hot
    return p


def _case(name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(labels, probabilities, classes) of a named prediction set."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    if name == "random_10":
        y = rng.integers(0, 10, 300)
        return y, _softmax(rng.normal(size=(300, 10)) * 2), 10
    if name == "informative_7":  # mostly right, so every metric is far from its floor
        y = rng.integers(0, 7, 200)
        logits = rng.normal(size=(200, 7))
        logits[np.arange(200), y] += 2.5
        return y, _softmax(logits), 7
    if name == "two_classes":
        y = rng.integers(0, 2, 50)
        return y, _softmax(rng.normal(size=(50, 2))), 2
    if name == "many_classes":
        y = rng.integers(0, 120, 400)
        return y, _softmax(rng.normal(size=(400, 120)) * 3), 120
    if name == "missing_in_truth":  # classes 3 and 5 never occur in the truth
        y = rng.choice([0, 1, 2, 4], 80)
        return y, _softmax(rng.normal(size=(80, 6)) * 2), 6
    if name == "never_predicted":  # class 2 is in the truth but never predicted
        y = rng.integers(0, 4, 90)
        logits = rng.normal(size=(90, 4))
        logits[:, 2] -= 100
        return y, _softmax(logits), 4
    if name == "absent_everywhere":  # class 4 neither occurs nor is predicted
        y = rng.integers(0, 4, 60)
        logits = rng.normal(size=(60, 5))
        logits[:, 4] -= 100
        return y, _softmax(logits), 5
    if name == "perfect":
        y = rng.integers(0, 6, 40)
        return y, _one_hot(y, 6, hot=0.9), 6
    if name == "perfect_one_hot":  # probabilities of exactly 0 and 1: clipping matters
        y = rng.integers(0, 6, 40)
        return y, _one_hot(y, 6), 6
    if name == "all_wrong":
        y = rng.integers(0, 8, 64)
        return y, _one_hot((y + 1) % 8, 8, hot=0.65), 8
    if name == "single_truth_class":
        y = np.full(30, 3)
        return y, _softmax(rng.normal(size=(30, 5))), 5
    raise KeyError(name)


CASES = [
    "random_10",
    "informative_7",
    "two_classes",
    "many_classes",
    "missing_in_truth",
    "never_predicted",
    "absent_everywhere",
    "perfect",
    "perfect_one_hot",
    "all_wrong",
    "single_truth_class",
]


@pytest.mark.parametrize("name", CASES)
def test_every_metric_equals_scikit_learn(name: str) -> None:
    y, p, n_classes = _case(name)
    names = [f"class_{c}" for c in range(n_classes)]
    report = classification_report(y, p, names)
    pred = p.argmax(axis=1)
    labels = list(range(n_classes))
    m = report.metrics

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns on the very edge cases we test
        expected = {
            "accuracy": skm.accuracy_score(y, pred),
            "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
            # scikit-learn takes a binary problem's scores as the positive class's column
            "top5_accuracy": skm.top_k_accuracy_score(
                y, p[:, 1] if n_classes == 2 else p, k=min(5, n_classes), labels=labels
            ),
            "loss": skm.log_loss(y, p, labels=labels),
        }
        for average in ("macro", "weighted"):
            prec, rec, f1, _ = skm.precision_recall_fscore_support(
                y, pred, average=average, zero_division=0
            )
            expected |= {
                f"precision_{average}": prec,
                f"recall_{average}": rec,
                f"f1_{average}": f1,
            }
        prec, rec, f1, support = skm.precision_recall_fscore_support(
            y, pred, labels=labels, average=None, zero_division=0
        )
        ap = [skm.average_precision_score(y == c, p[:, c]) for c in labels]
        curves = [skm.precision_recall_curve(y == c, p[:, c]) for c in labels]

    assert set(m) == set(expected)
    for key, value in expected.items():
        assert m[key] == pytest.approx(value, abs=TOL), key
    assert report.primary_metric == "accuracy" and report.direction == "maximize"
    assert report.primary_value == m["accuracy"]
    assert report.confusion_matrix == skm.confusion_matrix(y, pred, labels=labels).tolist()
    for c, row in enumerate(report.per_class):
        assert row["class_id"] == c and row["class_name"] == names[c]
        assert row["precision"] == pytest.approx(prec[c], abs=TOL)
        assert row["recall"] == pytest.approx(rec[c], abs=TOL)
        assert row["f1"] == pytest.approx(f1[c], abs=TOL)
        assert row["support"] == support[c]
    assert report.pr_curves is not None
    for c, curve in enumerate(report.pr_curves["classes"]):
        assert curve["average_precision"] == pytest.approx(ap[c], abs=TOL)
        sk_precision, sk_recall, _ = curves[c]
        assert len(curve["precision"]) == len(curve["recall"]) <= 101
        if len(sk_precision) <= 101:  # short curves are kept whole
            np.testing.assert_allclose(curve["precision"], sk_precision, atol=TOL)
            np.testing.assert_allclose(curve["recall"], sk_recall, atol=TOL)
        else:  # long ones keep their end points
            assert curve["recall"][0] == sk_recall[0] and curve["recall"][-1] == 0.0
            assert curve["precision"][-1] == 1.0


def test_the_top_k_metric_is_a_real_top_5_on_many_classes() -> None:
    """The true class ranked 3rd counts, ranked 6th does not."""
    p = np.array([[0.30, 0.25, 0.20, 0.10, 0.08, 0.07], [0.30, 0.25, 0.20, 0.10, 0.08, 0.07]])
    report = classification_report([2, 5], p, [str(c) for c in range(6)])
    assert report.metrics["top5_accuracy"] == 0.5
    assert report.metrics["accuracy"] == 0.0


def test_long_curves_are_downsampled_to_at_most_101_points() -> None:
    y, p, n_classes = _case("random_10")
    report = classification_report(y, p, [str(c) for c in range(n_classes)])
    assert report.pr_curves is not None
    lengths = [len(c["precision"]) for c in report.pr_curves["classes"]]
    assert max(lengths) == 101  # 300 distinct scores each, so every curve was thinned


def test_kept_images_carry_top_5_predictions_truth_and_correctness() -> None:
    p = np.array([[0.1, 0.6, 0.05, 0.05, 0.1, 0.1], [0.5, 0.1, 0.1, 0.1, 0.1, 0.1]])
    names = ["a", "b", "c", "d", "e", "f"]
    report = classification_report([1, 2], p, names, image_ids=["x.png", "y.png"], keep_images=True)
    assert report.images is not None and len(report.images) == 2
    first, second = report.images
    assert first["image_id"] == first["image_path"] == "x.png"
    classes = first["predictions"]["classes"]
    assert len(classes) == 5
    assert classes[0] == {"class_id": 1, "class_name": "b", "confidence": 0.6}
    assert [c["confidence"] for c in classes] == sorted(
        (c["confidence"] for c in classes), reverse=True
    )
    assert first["ground_truth"] == {"class_id": 1, "class_name": "b"}
    assert first["metrics"] == {"correct": 1.0, "confidence": 0.6}
    assert second["metrics"] == {"correct": 0.0, "confidence": 0.5}
    assert second["ground_truth"]["class_name"] == "c"


def test_without_keep_images_no_images_are_kept() -> None:
    report = classification_report([0, 1], np.eye(2), ["a", "b"])
    assert report.images is None


def test_mismatched_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="images x classes"):
        classification_report([0, 1, 1], np.eye(2), ["a", "b"])
    with pytest.raises(ValueError, match="class ids"):
        classification_report([0, 2], np.eye(2), ["a", "b"])
