"""A test run's per-image results as the console reads them: each image's place in the
file, whether it was right, links to it and to its picture, and the wrong ones alone."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

from api.services import results
from api.services.storage import get_storage
from api.settings import get_settings


def _classified(name: str, truth: int, predicted: int) -> dict:
    return {
        "image_id": f"val/digit_{truth}/{name}.png",
        "image_path": f"val/digit_{truth}/{name}.png",
        "predictions": {"classes": [{"class_id": predicted, "confidence": 0.75}]},
        "ground_truth": {"class_id": truth},
        "metrics": {"correct": float(truth == predicted), "confidence": 0.75},
    }


def _stored_job(images: list[dict], visualized: int) -> SimpleNamespace:
    """A finished job whose results file and first `visualized` pictures are in storage,
    named as functions/results.py names them."""
    storage = get_storage(get_settings())
    prefix = f"results/{uuid.uuid4()}/"
    storage.put_bytes(prefix + "images.json", json.dumps({"images": images}).encode())
    for i, item in enumerate(images[:visualized]):
        storage.put_bytes(prefix + "visualizations/" + results.visualization_name(i, item), b"png")
    return SimpleNamespace(
        id=uuid.uuid4(),
        status=SimpleNamespace(value="completed"),
        task_type="image_classification",
        results_key=prefix + "images.json",
        visualizations_prefix=prefix + "visualizations/",
    )


def test_wrong_only_pages_through_the_wrong_images_keeping_their_place(client) -> None:  # type: ignore[no-untyped-def]
    images = [_classified(f"i{n}", n % 3, 0) for n in range(7)]  # wrong: 1, 2, 4, 5
    job = _stored_job(images, visualized=3)

    everything = results.page(get_settings(), job, 0, 100, files_prefix="datasets/x/files/")
    assert everything.total == everything.num_images == 7 and everything.num_wrong == 4
    assert [i.correct for i in everything.images] == [n % 3 == 0 for n in range(7)]

    wrong = results.page(get_settings(), job, 1, 2, wrong_only=True)
    assert wrong.total == 4 and wrong.num_images == 7 and wrong.offset == 1
    assert [i.index for i in wrong.images] == [2, 4]
    assert [i.image_id for i in wrong.images] == [images[2]["image_id"], images[4]["image_id"]]
    # Only the first three were drawn: the third has its picture, the fifth none.
    assert wrong.images[0].visualization_url and wrong.images[1].visualization_url is None
    assert wrong.images[0].image_url is None  # no dataset to link to

    first = everything.images[0]
    assert first.image_url and "datasets/x/files/val/digit_0/i0.png" in first.image_url
    assert first.model_dump()["predictions"]["classes"][0]["confidence"] == 0.75


def test_a_detection_image_is_wrong_when_it_misses_or_invents_an_object() -> None:
    box = {"metrics": {"tp": 1, "fp": 0, "fn": 0}, "ground_truth": {"boxes": []}}
    assert results.is_correct(box) is True
    assert results.is_correct(box | {"metrics": {"tp": 1, "fp": 1, "fn": 0}}) is False
    assert results.is_correct(box | {"metrics": {"tp": 0, "fp": 0, "fn": 2}}) is False
    # Inference without truth has nothing to compare with.
    assert results.is_correct({"classes": [], "metrics": {"correct": 1.0}}) is None


def test_test_runs_are_listed_by_status_and_an_unknown_status_is_refused(client, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    r = client.get("/api/v1/test-runs?status=completed", headers=user.headers)
    assert r.status_code == 200 and r.json()["items"] == [] and r.json()["total"] == 0
    r = client.get("/api/v1/test-runs?status=finished", headers=user.headers)
    assert r.status_code == 422 and "status" in r.text
    missing = f"/api/v1/test-runs/{uuid.uuid4()}/results?wrong_only=true"
    r = client.get(missing, headers=user.headers)
    assert r.status_code == 404
