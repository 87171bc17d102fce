"""Semantic-segmentation datasets (`images/`, `masks/`, `classes.txt`) uploaded through
the API: detected, each mask stored in the manifest as per-class RLE that decodes back
to its exact pixels (decoded here with numpy), masks never taken for dataset images,
and every kind of bad mask or class list refused with its own problem code.

Then the whole path a person takes: the uploaded dataset trains SegFormer-B0 through
the real API and local runner, a test run's mIoU is what a numpy count of its
per-image predicted masks against the uploaded masks gives, and an inference job
answers masks.

The data: scikit-learn's digits 0 and 1 upscaled to 32 px; their masks from the same
pixels (stroke >= 128: the digit's class, dark < 64: background 0, the blurred rim
between them void 255), as tests/test_semantic_segmentation.py makes them.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from api.services.storage import get_storage
from api.settings import get_settings
from tests import dataset_builders as build
from tests import sse
from tests.conftest import upload_dataset

CLASSES = ["background", "digit_0", "digit_1"]
SIZE = 32
VOID = 255


@pytest.fixture()
def engineer(make_user):  # type: ignore[no-untyped-def]
    return make_user("engineer_ii")


# --- the dataset ---------------------------------------------------------------------------


def _png(array: np.ndarray) -> bytes:
    """A PNG of `array`: 8-bit grey (L) for 2-D uint8, 16-bit grey for uint16, RGB."""
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


@lru_cache(maxsize=4)
def _digit_masks(per_digit: int) -> tuple[tuple[str, str, bytes, np.ndarray], ...]:
    """(split, name, image PNG, mask) of the first `per_digit` 0s and 1s; every fifth
    of each digit is val."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    out = []
    for digit in (0, 1):
        for n, i in enumerate(np.flatnonzero(digits.target == digit)[:per_digit]):
            grey = Image.fromarray((digits.images[i] * (255 / 16)).astype(np.uint8))
            value = np.asarray(grey.resize((SIZE, SIZE), Image.Resampling.BILINEAR))
            mask = np.full(value.shape, VOID, np.uint8)
            mask[value >= 128] = digit + 1
            mask[value < 64] = 0
            split = "val" if n % 5 == 4 else "train"
            picture = np.stack([value] * 3, axis=-1)
            out.append((split, f"{i:04d}", _png(picture), mask))
    return tuple(out)


def semantic_files(per_digit: int = 30) -> tuple[dict[str, bytes], dict[str, np.ndarray]]:
    """The upload's files by path, and each image's mask by the image's path."""
    files: dict[str, bytes] = {"classes.txt": "\n".join(CLASSES).encode() + b"\n"}
    masks = {}
    for split, name, picture, mask in _digit_masks(per_digit):
        files[f"images/{split}/{name}.png"] = picture
        files[f"masks/{split}/{name}.png"] = _png(mask)
        masks[f"images/{split}/{name}.png"] = mask
    return files, masks


def decode_runs(rle: dict[str, Any]) -> np.ndarray:
    """COCO's uncompressed RLE (column-major runs, 0s first) as a bool mask."""
    height, width = rle["size"]
    counts = np.asarray(rle["counts"], np.int64)
    assert counts.sum() == height * width
    values = np.arange(counts.size) % 2 == 1
    return np.repeat(values, counts).reshape(width, height).T


def _ready(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "ready", body["validation_errors"]
    return body  # type: ignore[no-any-return]


# --- upload and manifest -------------------------------------------------------------------


def test_a_mask_dataset_is_detected_and_each_mask_decodes_back_from_the_manifest(client, engineer):  # type: ignore[no-untyped-def]
    files, masks = semantic_files()
    body = _ready(
        upload_dataset(client, engineer, archive=("seg.zip", build.zip_bytes(files, top="seg/")))
    )
    assert body["format"] == "semantic_masks" and body["task_type"] == "semantic_segmentation"
    assert "masks under masks/" in body["format_detection"]["reason"]
    assert body["class_names"] == CLASSES
    assert body["num_images"] == 60  # the 60 masks are not images
    assert body["stats"]["images_per_split"] == {"train": 48, "val": 12}
    # Every image holds background and its digit: one annotation per class present.
    per_class = {c["name"]: (c["images"], c["instances"]) for c in body["stats"]["classes"]}
    assert per_class == {"background": (60, 60), "digit_0": (30, 30), "digit_1": (30, 30)}

    r = client.get(f"/api/v1/datasets/{body['id']}/manifest", headers=engineer.headers)
    manifest = r.json()
    assert manifest["source_format"] == "semantic_masks"
    assert sorted(i["path"] for i in manifest["images"]) == sorted(masks)
    voids = 0
    for image in manifest["images"]:
        truth = masks[image["path"]]
        assert (image["width"], image["height"]) == (SIZE, SIZE)
        rebuilt = np.full(truth.shape, VOID, np.uint8)
        for ann in image["annotations"]:
            region = decode_runs(ann["rle"])
            assert not (rebuilt[region] != VOID).any()  # classes never overlap
            rebuilt[region] = ann["class_id"]
            ys, xs = np.nonzero(region)
            x, y = xs.min(), ys.min()
            assert ann["bbox"] == [x, y, xs.max() + 1 - x, ys.max() + 1 - y]
        assert np.array_equal(rebuilt, truth)
        voids += int((truth == VOID).sum())
    assert voids > 0  # the void rim is there, and no annotation covers it

    # Only the images are stored and thumbnailed, not their masks.
    storage = get_storage(get_settings())
    prefix = f"datasets/{body['id']}/"
    stored = sorted(o.key.removeprefix(f"{prefix}files/") for o in storage.list(f"{prefix}files/"))
    assert stored == sorted(masks)
    thumbs = {o.key for o in storage.list(f"{prefix}thumbnails/")}
    assert thumbs == {f"{prefix}thumbnails/{i['sha256']}.jpg" for i in manifest["images"]}
    # The gallery serves the RLE-only annotations as the manifest holds them.
    r = client.get(f"/api/v1/datasets/{body['id']}/images?limit=2", headers=engineer.headers)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["annotations"][0]["rle"]["size"] == [SIZE, SIZE]


def test_masks_without_splits_palette_masks_and_jpeg_images_are_read(client, engineer):  # type: ignore[no-untyped-def]
    """images/x.jpg pairs with masks/x.png; a palette (mode P) mask's pixel is its
    index, as Pascal VOC's are; the split policy splits what no folder does."""
    files: dict[str, bytes] = {"classes.txt": b"background\ndigit_0\ndigit_1"}
    masks = {}
    for _, name, picture, mask in _digit_masks(5):
        jpeg = io.BytesIO()
        Image.open(io.BytesIO(picture)).save(jpeg, format="JPEG")
        files[f"images/{name}.jpg"] = jpeg.getvalue()
        palette = Image.fromarray(mask).convert("P")  # an identity palette...
        palette.putpalette([v for c in range(256) for v in (255 - c, c, (c * 7) % 256)])
        out = io.BytesIO()
        palette.save(out, format="PNG")  # ...recoloured: the indices stay the class ids
        files[f"masks/{name}.png"] = out.getvalue()
        masks[f"images/{name}.jpg"] = mask
    assert Image.open(io.BytesIO(files[f"masks/{name}.png"])).mode == "P"
    body = _ready(upload_dataset(client, engineer, files=files))
    assert body["format"] == "semantic_masks" and body["num_images"] == 10
    assert sum(body["stats"]["images_per_split"].values()) == 10
    manifest = client.get(f"/api/v1/datasets/{body['id']}/manifest", headers=engineer.headers)
    for image in manifest.json()["images"]:
        rebuilt = np.full((SIZE, SIZE), VOID, np.uint8)
        for ann in image["annotations"]:
            rebuilt[decode_runs(ann["rle"])] = ann["class_id"]
        assert np.array_equal(rebuilt, masks[image["path"]])


def test_class_folders_named_images_and_masks_stay_an_imagefolder(client, engineer):  # type: ignore[no-untyped-def]
    files = {
        f"{folder}/{n}.png": build.digits_png(n + (0 if folder == "images" else 10))
        for folder in ("images", "masks")
        for n in range(3)
    }
    body = _ready(upload_dataset(client, engineer, files=files))
    assert body["format"] == "imagefolder" and body["class_names"] == ["images", "masks"]
    assert body["format_detection"]["candidates"].keys() == {"imagefolder"}


def _broken(change: str) -> dict[str, bytes]:
    files, _ = semantic_files(per_digit=5)
    first = "train/0000"
    mask = np.zeros((SIZE, SIZE), np.uint8)
    if change == "mask missing":
        del files[f"masks/{first}.png"]
    elif change == "mask of another size":
        files[f"masks/{first}.png"] = _png(np.zeros((SIZE, SIZE + 1), np.uint8))
    elif change == "class id past classes.txt":
        mask[3, 4] = 3  # three classes: 0 to 2; 255 (void) would be fine
        mask[5, 5] = VOID
        files[f"masks/{first}.png"] = _png(mask)
    elif change == "RGB mask":
        files[f"masks/{first}.png"] = _png(np.zeros((SIZE, SIZE, 3), np.uint8))
    elif change == "16-bit mask":
        files[f"masks/{first}.png"] = _png(mask.astype(np.uint16))
    elif change == "JPEG mask":
        del files[f"masks/{first}.png"]
        jpeg = io.BytesIO()
        Image.fromarray(mask).save(jpeg, format="JPEG")
        files[f"masks/{first}.jpg"] = jpeg.getvalue()
    elif change == "mask without an image":
        files["masks/train/9999.png"] = _png(mask)
    elif change == "no classes.txt":
        del files["classes.txt"]
    elif change == "empty classes.txt":
        files["classes.txt"] = b"\n \n"
    elif change == "class named twice":
        files["classes.txt"] = b"background\ndigit\ndigit\n"
    elif change == "a stray file":
        files["notes.md"] = b"# my masks"
    return files


@pytest.mark.parametrize(
    ("change", "code", "file"),
    [
        ("mask missing", "missing_mask", "images/train/0000.png"),
        ("mask of another size", "size_mismatch", "masks/train/0000.png"),
        ("class id past classes.txt", "unknown_class", "masks/train/0000.png"),
        ("RGB mask", "bad_mask", "masks/train/0000.png"),
        ("16-bit mask", "bad_mask", "masks/train/0000.png"),
        ("JPEG mask", "bad_mask", "masks/train/0000.jpg"),
        ("mask without an image", "orphan_mask", "masks/train/9999.png"),
        ("no classes.txt", "missing_classes", None),
        ("empty classes.txt", "missing_classes", "classes.txt"),
        ("class named twice", "bad_classes", "classes.txt"),
        ("a stray file", "non_image_file", "notes.md"),
    ],
)
def test_each_bad_mask_or_class_list_is_a_problem_with_its_code(
    client, engineer, change: str, code: str, file: str | None
):  # type: ignore[no-untyped-def]
    r = upload_dataset(client, engineer, files=_broken(change))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "error"
    assert body["format_detection"]["detected"] == "semantic_masks"
    errors = body["validation_errors"]
    assert code in errors["by_code"], errors
    listed = next(e for e in errors["errors"] if e["file"] == file)
    print(f"{change}: {listed['reason']}")
    if code == "unknown_class":
        assert "holds class id 3 but" in listed["reason"]  # 255 is not named: it is void


# --- training, a test run and inference through the API -------------------------------------


def _follow(api: httpx.Client, job_id: str) -> list[dict]:
    return sse.job_events(api, job_id, timeout=300)


def decode_mask(mask: dict[str, Any]) -> np.ndarray:
    assert mask["encoding"] == "png_base64"
    with Image.open(io.BytesIO(base64.b64decode(mask["data"]))) as png:
        return np.asarray(png)


def numpy_miou(truth: list[np.ndarray], predicted: list[np.ndarray]) -> float:
    """The mean over classes in truth or prediction of intersection / union of their
    pixels over every image, void pixels left out."""
    ious = []
    for c in range(len(CLASSES)):
        inter = union = 0
        for t, p in zip(truth, predicted, strict=True):
            valid = t != VOID
            inter += int(np.sum((t == c) & (p == c) & valid))
            union += int(np.sum(((t == c) | (p == c)) & valid))
        if union:
            ious.append(inter / union)
    return float(np.mean(ious))


def test_an_uploaded_mask_dataset_trains_segformer_and_is_tested_and_predicts_via_the_api(api):  # type: ignore[no-untyped-def]
    files, masks = semantic_files()
    r = api.post(
        "/api/v1/datasets",
        data={"name": "digit masks"},
        files=[("files", ("masks.zip", build.zip_bytes(files), "application/zip"))],
        timeout=120,
    )
    assert r.status_code == 201 and r.json()["status"] == "ready", r.text
    dataset = r.json()
    # The settings tests/test_semantic_segmentation.py measured (mIoU > 0.8 in 3 epochs).
    config = {
        "epochs": 3, "batch_size": 8, "learning_rate": 2e-3, "image_size": SIZE,
        "pretrained": False, "augmentation": "light", "scheduler": "none", "warmup_epochs": 0,
    }  # fmt: skip
    body = {"dataset_id": dataset["id"], "framework": "transformers",
            "model_name": "segformer-b0", "config": config}  # fmt: skip
    r = api.post("/api/v1/training/jobs", json=body)
    assert r.status_code == 201, r.text
    job = r.json()
    events = _follow(api, job["id"])
    assert events[-1]["data"]["status"] == "completed", events[-5:]
    validations = [e["data"] for e in events if e["type"] == "validation"]
    assert [v["epoch"] for v in validations] == [1, 2, 3]
    got = api.get(f"/api/v1/training/jobs/{job['id']}").json()
    assert got["primary_metric_name"] == "mIoU" and got["has_best_checkpoint"]
    trained = got["best_metrics"]["mIoU"]
    assert trained > 0.8, got["best_metrics"]

    # A test run on the val split: its mIoU is a numpy count of its own predicted masks
    # against the masks that were uploaded.
    body = {"training_job_id": job["id"], "dataset_id": dataset["id"], "split": "val"}
    r = api.post("/api/v1/test-runs", json=body)
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    assert _follow(api, run_id)[-1]["data"]["status"] == "completed"
    tested = api.get(f"/api/v1/test-runs/{run_id}").json()
    page = api.get(f"/api/v1/test-runs/{run_id}/results?limit=100").json()
    assert page["num_images"] == 12 and len(page["images"]) == 12
    truth, predicted = [], []
    for item in page["images"]:
        mask = masks[item["image_id"]]
        assert np.array_equal(decode_mask(item["ground_truth"]["mask"]), mask)
        predicted.append(decode_mask(item["predictions"]["mask"]))
        truth.append(mask)
    assert predicted[0].shape == (SIZE, SIZE)
    expected = numpy_miou(truth, predicted)
    miou = tested["overall_metrics"]["mIoU"]
    print(f"segformer-b0, uploaded digit masks: best mIoU {trained:.4f}, test run {miou:.4f}")
    assert miou == pytest.approx(expected, abs=1e-9)
    assert miou == pytest.approx(trained, abs=1e-9)  # the same model on the same images

    # An inference job answers a mask per image, the size of the image sent.
    name = next(p for p in masks if p.startswith("images/val/"))
    stretched = Image.open(io.BytesIO(files[name])).resize((45, 37), Image.Resampling.BILINEAR)
    odd = io.BytesIO()
    stretched.save(odd, format="PNG")
    sent = [("a.png", files[name]), ("odd.png", odd.getvalue())]
    r = api.post(
        "/api/v1/inference/upload",
        data={"training_job_id": job["id"]},
        files=[("files", (n, data, "image/png")) for n, data in sent],
    )
    assert r.status_code == 201, r.text
    assert _follow(api, r.json()["id"])[-1]["data"]["status"] == "completed"
    answer = api.get(f"/api/v1/inference/jobs/{r.json()['id']}/results").json()["images"]
    # each upload is stored as `<its place>-<its name>`
    by_name = {a["image_id"].split("-", 1)[1]: a for a in answer}
    assert by_name.keys() == {"a.png", "odd.png"}
    first, second = (decode_mask(by_name[n]["mask"]) for n in ("a.png", "odd.png"))
    assert first.shape == (SIZE, SIZE) and second.shape == (37, 45)
    # the val image's mask is the one the test run predicted for it (a near tie may flip)
    tested_mask = predicted[[i["image_id"] for i in page["images"]].index(name)]
    assert np.mean(first == tested_mask) > 0.99
    assert {c["class_name"] for c in by_name["a.png"]["mask"]["classes"]} <= set(CLASSES)
