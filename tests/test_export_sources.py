"""Ultralytics (detect, segment, pose, classify) and transformers (ViT, YOLOS) checkpoints
exported to ONNX: the graph computes what PyTorch computes, vap_runtime predicts what each
framework's own prediction path predicts on real images, and a package runs alone.

Checkpoints come from the real trainers (1 epoch, tiny images). A YOLO trained one
epoch from scratch predicts the same full-image box with the same score on every image,
so for the prediction comparisons its BatchNorm statistics are re-estimated on the
training images and its head's last layers drawn at random ("varied"): boxes, classes,
masks and keypoints then differ per image and per anchor, and a wrong letterbox, decode
or NMS shows. The ONNX-vs-PyTorch checks use the checkpoints exactly as trained.
"""

from __future__ import annotations

import ast
import json
import sys
import zipfile
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

from contract.manifest import Manifest  # noqa: E402
from exporters.package import RUNTIME, build_package  # noqa: E402
from exporters.registry import ExportResult, export  # noqa: E402
from tests.dataset_builders import package_image  # noqa: E402
from tests.detection_data import (  # noqa: E402
    classification_dataset,
    detection_dataset,
    pose_dataset,
    segmentation_dataset,
)
from tests.digits import digits_dataset  # noqa: E402
from tests.packages import run_alone  # noqa: E402
from tests.training import train_checkpoint  # noqa: E402
from trainers.base import get_trainer  # noqa: E402
from vap_runtime import Model  # noqa: E402
from vap_runtime.model import largest_outline  # noqa: E402

TOLERANCE = 1e-4  # ONNX Runtime vs PyTorch, fp32


@dataclass
class Trained:
    checkpoint: Path
    images: list[Path]  # real images of the dataset, PNG (OpenCV and Pillow decode alike)
    task_type: str


# --- checkpoints ---------------------------------------------------------------------------

_YOLO = {
    "detect": (detection_dataset, "yolo11n", 128),
    "segment": (segmentation_dataset, "yolo11n-seg", 96),
    "pose": (pose_dataset, "yolo11n-pose", 96),
    "classify": (classification_dataset, "yolo11n-cls", 32),
}


def _train(
    framework: str, model: str, manifest: Manifest, files: Path, work: Path, **cfg: Any
) -> Path:
    return train_checkpoint(framework, model, manifest, files, work, **({"epochs": 1} | cfg))


def _odd_photo(files: Path, size: tuple[int, int]) -> Path:
    """Ultralytics' bus photo, not square, as PNG: exercises letterbox and centre crop."""
    path = files / f"bus_{size[0]}x{size[1]}.png"
    Image.open(package_image("ultralytics", "assets/bus.jpg")).convert("RGB").resize(
        size, Image.Resampling.BILINEAR
    ).save(path)
    return path


@pytest.fixture(scope="module")
def yolo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Trained]:
    out = {}
    for task, (builder, model, size) in _YOLO.items():
        root = tmp_path_factory.mktemp(task)
        manifest = builder(root / "files")
        checkpoint = _train(
            "ultralytics", model, manifest, root / "files", root / "work",
            batch_size=4, image_size=size,
        )  # fmt: skip
        images = [root / "files" / i.path for i in manifest.images if i.split == "val"][:3]
        images.append(_odd_photo(root / "files", (size * 3 // 4, size + 7)))
        out[task] = Trained(checkpoint, images, manifest.task_type)
    return out


def _varied(trained: Trained, out: Path) -> Path:
    """The checkpoint with BatchNorm statistics measured on its images and the head's last
    convolutions (and a classifier's linear layer) drawn at random (see the docstring)."""
    state = torch.load(trained.checkpoint, map_location="cpu", weights_only=False)
    size = int(state["vap"]["image_size"])
    pictures = [Image.open(p).convert("RGB").resize((size, size)) for p in trained.images]
    x = torch.stack(
        [torch.from_numpy(np.asarray(p, np.float32) / 255).permute(2, 0, 1) for p in pictures]
    )
    generator = torch.Generator().manual_seed(0)
    for key in ("ema", "model"):
        model = state.get(key)
        if model is None:
            continue
        dtype = next(model.parameters()).dtype
        model.float()
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None  # a plain average over this one batch
        model.train()
        with torch.no_grad():
            model(x)
        model.eval()
        for m in model.model[-1].modules():
            if isinstance(m, torch.nn.Conv2d) and m.bias is not None:
                m.weight.data = torch.randn(m.weight.shape, generator=generator) * 0.05
                m.bias.data = torch.randn(m.bias.shape, generator=generator) * 0.3
            elif isinstance(m, torch.nn.Linear):
                m.weight.data = torch.randn(m.weight.shape, generator=generator) * 0.5
        model.to(dtype)
    torch.save(state, out)
    return out


@pytest.fixture(scope="module")
def varied(
    yolo: dict[str, Trained], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Trained]:
    folder = tmp_path_factory.mktemp("varied")
    return {
        task: Trained(_varied(t, folder / f"{task}.pt"), t.images, t.task_type)
        for task, t in yolo.items()
    }


@pytest.fixture(scope="module")
def transformers_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Trained]:
    root = tmp_path_factory.mktemp("hf")
    digits = digits_dataset(root / "digits", per_class=5, size=32)
    vit = _train(
        "transformers", "vit-tiny", digits, root / "digits", root / "vit",
        batch_size=16, learning_rate=5e-4, image_size=32, augmentation="none",
    )  # fmt: skip
    photos = detection_dataset(root / "photos")
    yolos = _train(
        "transformers", "yolos-tiny", photos, root / "photos", root / "yolos",
        batch_size=4, learning_rate=1e-4, image_size=64, augmentation="none",
    )  # fmt: skip
    digit_images = [root / "digits" / i.path for i in digits.images if i.split == "val"][:3]
    photo_images = [root / "photos" / i.path for i in photos.images if i.split == "val"]
    return {
        "vit": Trained(
            vit, digit_images + [_odd_photo(root / "digits", (40, 57))], "image_classification"
        ),
        "yolos": Trained(yolos, photo_images, "object_detection"),
    }


def _export(checkpoint: Path, framework: str, out: Path) -> ExportResult:
    return export(checkpoint, framework, "onnx", out, latency_runs=2)


@pytest.fixture(scope="module")
def exports(
    yolo: dict[str, Trained],
    varied: dict[str, Trained],
    transformers_runs: dict[str, Trained],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, ExportResult]:
    """ "<task>": the trained YOLO checkpoint, "<task>-varied": the varied one, "vit",
    "yolos": the transformers checkpoints."""
    out = {}
    for task in _YOLO:
        out[task] = _export(yolo[task].checkpoint, "ultralytics", tmp_path_factory.mktemp(task))
        out[f"{task}-varied"] = _export(
            varied[task].checkpoint, "ultralytics", tmp_path_factory.mktemp(f"{task}-varied")
        )
    for name, run in transformers_runs.items():
        out[name] = _export(run.checkpoint, "transformers", tmp_path_factory.mktemp(name))
    return out


# --- (a) ONNX Runtime computes what PyTorch computes --------------------------------------


def _source_module(framework: str, checkpoint: Path) -> torch.nn.Module:
    if framework == "ultralytics":
        from exporters.ultralytics_source import ultralytics_source

        return ultralytics_source(checkpoint).module
    from exporters.transformers_source import transformers_source

    return transformers_source(checkpoint).module


def _torch_outputs(module: torch.nn.Module, x: np.ndarray) -> list[np.ndarray]:
    with torch.no_grad():
        out = module(torch.from_numpy(x))
    return [o.numpy() for o in (out if isinstance(out, (tuple, list)) else (out,))]


def _scaled_diff(expected: np.ndarray, got: np.ndarray) -> float:
    """Max |difference| per channel (axis 1), divided by max(1, the channel's largest
    magnitude): absolute for scores and logits, relative for coordinates in pixels
    (an untrained YOLO's boxes reach ~500 px, where float32's spacing is 6e-5)."""
    diff = np.abs(expected - got)
    axes = tuple(a for a in range(expected.ndim) if a != 1)
    scale = np.maximum(1.0, np.abs(expected).max(axis=axes, keepdims=True))
    return float((diff / scale).max())


@pytest.mark.parametrize(
    "name, framework",
    [
        ("detect", "ultralytics"),
        ("segment", "ultralytics"),
        ("pose", "ultralytics"),
        ("classify", "ultralytics"),
        ("vit", "transformers"),
        ("yolos", "transformers"),
    ],
)
def test_onnx_runtime_equals_pytorch(
    name: str,
    framework: str,
    exports: dict[str, ExportResult],
    yolo: dict[str, Trained],
    transformers_runs: dict[str, Trained],
) -> None:
    run = yolo[name] if framework == "ultralytics" else transformers_runs[name]
    result = exports[name]
    model = Model(result.model_file.parent)
    # the real images, preprocessed by vap_runtime, as one batch (the batch is dynamic)
    x = np.concatenate([model.preprocess(p)[0] for p in run.images])
    expected = _torch_outputs(_source_module(framework, run.checkpoint), x)
    session = ort.InferenceSession(str(result.model_file), providers=["CPUExecutionProvider"])
    got = session.run(None, {"images": x})
    assert [o.name for o in session.get_outputs()] == [
        o["name"] for o in result.metadata["outputs"]
    ]
    assert len(got) == len(expected)
    for e, g, spec in zip(expected, got, result.metadata["outputs"], strict=True):
        assert e.shape == g.shape
        raw, scaled = float(np.abs(e - g).max()), _scaled_diff(e, g)
        print(f"{name} {spec['name']} {e.shape}: max abs diff {raw:.2e}, scaled {scaled:.2e}")
        assert scaled < TOLERANCE


# --- (b) vap_runtime predicts what the framework predicts ----------------------------------


def _match(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], pixels: float = 1.5) -> None:
    """Every instance pairs with one of the other list: same class, confidence within
    1e-3, box corners within `pixels` (near-equal scores may come in another order)."""
    assert len(ours) == len(theirs)
    left = list(theirs)
    for inst in ours:
        x, y, w, h = inst["bbox"]
        for cand in left:
            cx, cy, cw, ch = cand["bbox"]
            corners = np.abs(np.array([x, y, x + w, y + h]) - [cx, cy, cx + cw, cy + ch])
            if (
                cand["class_id"] == inst["class_id"]
                and abs(cand["confidence"] - inst["confidence"]) < 1e-3
                and corners.max() <= pixels
            ):
                left.remove(cand)
                break
        else:
            raise AssertionError(f"no match for {inst}")


def _ultralytics_predict(trained: Trained, image: Path, confidence: float) -> Any:  # type: ignore[no-untyped-def]
    from trainers.ultralytics_infer import load_model, read_meta

    meta = read_meta(trained.checkpoint)
    model = load_model(trained.checkpoint, meta["task_type"])
    # rect=False: the square letterbox of a fixed-size graph (YOLO.predict on a .pt pads
    # only to a multiple of the stride unless told otherwise)
    return model.predict(
        str(image), imgsz=meta["image_size"], conf=confidence, iou=0.45, max_det=100,
        rect=False, verbose=False,
    )[0]  # fmt: skip


def _as_instances(result: Any, class_names: list[str]) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    boxes = result.boxes
    xyxy = boxes.xyxy.numpy().astype(np.float64)
    return [
        {
            "class_id": int(c),
            "class_name": class_names[int(c)],
            "confidence": float(s),
            "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
        }
        for b, s, c in zip(xyxy, boxes.conf.numpy(), boxes.cls.numpy(), strict=True)
    ]


def _inside(polygon: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The pixels whose centres lie inside `polygon` (x, y), as an (H, W) mask."""
    from matplotlib.path import Path as Outline

    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    centres = np.stack([cols.ravel() + 0.5, rows.ravel() + 0.5], axis=1)
    return Outline(polygon).contains_points(centres).reshape(shape[:2])  # type: ignore[no-any-return]


def _largest_region(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected region of a binary mask, its holes filled (an outline)."""
    from scipy import ndimage

    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if count == 0:
        return mask
    sizes = np.bincount(labels.ravel())[1:]
    return ndimage.binary_fill_holes(labels == 1 + int(sizes.argmax()))  # type: ignore[no-any-return]


@pytest.mark.parametrize("task", ["detect", "segment", "pose"])
def test_yolo_predictions_match_ultralytics(
    task: str, varied: dict[str, Trained], exports: dict[str, ExportResult]
) -> None:
    trained = varied[task]
    model = Model(exports[f"{task}-varied"].model_file.parent)
    total = 0
    for image in trained.images:
        ours = model.predict(image, confidence=0.25, iou=0.45, max_detections=100)
        ref = _ultralytics_predict(trained, image, 0.25)
        theirs = _as_instances(ref, model.class_names)
        assert (ours["width"], ours["height"]) == (ref.orig_shape[1], ref.orig_shape[0])
        _match(ours["instances"], theirs)
        total += len(theirs)
        if task == "segment":
            for inst in ours["instances"]:
                polygon = np.array(inst["polygon"])
                assert polygon.shape[0] >= 3 and polygon.shape[1] == 2
                x, y, w, h = inst["bbox"]
                assert polygon[:, 0].min() >= x - 1.5 and polygon[:, 0].max() <= x + w + 1.5
                assert polygon[:, 1].min() >= y - 1.5 and polygon[:, 1].max() <= y + h + 1.5
            # the same masks: our polygon, back in input pixels, outlines the largest
            # region of Ultralytics' mask of the instance
            _, placed = model.preprocess(image)
            ious: list[float] = []
            for inst, j in _pairs(ours["instances"], theirs):
                polygon = np.array(inst["polygon"]) * (placed.gain_x, placed.gain_y)
                polygon += (placed.pad_x, placed.pad_y)
                mask = ref.masks.data[j].numpy() > 0
                mine = _inside(polygon, mask.shape)
                # the mask may reach into the letterbox padding; outlines stop at the image
                picture = np.zeros_like(mask)
                top, left = round(placed.pad_y), round(placed.pad_x)
                picture[top : top + round(placed.height * placed.gain_y),
                        left : left + round(placed.width * placed.gain_x)] = True  # fmt: skip
                theirs_largest = _largest_region(mask) & picture
                iou = (mine & theirs_largest).sum() / max(1, (mine | theirs_largest).sum())
                ious.append(iou)
                assert iou > 0.97, (image.name, iou)
        if task == "pose":
            for inst, j in _pairs(ours["instances"], theirs):
                expected = ref.keypoints.data[j].numpy()
                got = np.array(inst["keypoints"])
                assert got.shape == expected.shape == (3, 3)
                assert np.abs(got[:, :2] - expected[:, :2]).max() < 0.1
                assert np.abs(got[:, 2] - expected[:, 2]).max() < 1e-3
        if task == "segment":
            print(f"{image.name}: mask IoU with Ultralytics' min {min(ious or [1]):.4f}")
    print(f"{task}: {total} instances matched on {len(trained.images)} images")
    assert total >= len(trained.images)  # detections exist to compare


def _pairs(
    ours: list[dict[str, Any]], theirs: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], int]]:
    """Each of our instances with the index of its closest Ultralytics instance."""
    out = []
    for inst in ours:
        x, y, w, h = inst["bbox"]
        costs = [
            abs(c["confidence"] - inst["confidence"])
            + np.abs(np.array(c["bbox"]) - [x, y, w, h]).max()
            + (0 if c["class_id"] == inst["class_id"] else 1e6)
            for c in theirs
        ]
        out.append((inst, int(np.argmin(costs))))
    return out


def test_yolo_classifier_matches_ultralytics(
    varied: dict[str, Trained], exports: dict[str, ExportResult]
) -> None:
    trained = varied["classify"]
    model = Model(exports["classify-varied"].model_file.parent)
    tops = set()
    for image in trained.images:
        ours = model.predict(image, top_k=3)
        ref = _ultralytics_predict(trained, image, 0.25)
        # Ultralytics' output order is its sorted class folders; ours the manifest's
        theirs = {ref.names[i]: float(p) for i, p in enumerate(ref.probs.data.numpy())}
        assert [c["class_name"] for c in ours["classes"]][0] == max(theirs, key=theirs.get)  # type: ignore[arg-type]
        for c in ours["classes"]:
            assert abs(c["confidence"] - theirs[c["class_name"]]) < 1e-4
        tops.add(ours["classes"][0]["class_name"])
    print(f"classify top-1 classes seen: {sorted(tops)}")


def test_vit_matches_the_trainer(
    transformers_runs: dict[str, Trained], exports: dict[str, ExportResult]
) -> None:
    run = transformers_runs["vit"]
    model = Model(exports["vit"].model_file.parent)
    preds = get_trainer("transformers").predict(run.checkpoint, run.images, top_k=10)
    for image, pred in zip(run.images, preds, strict=True):
        ours = model.predict(image, top_k=10)
        assert ours["classes"][0]["class_id"] == pred.classes[0].class_id
        expected = {c.class_id: c.confidence for c in pred.classes}
        for c in ours["classes"]:
            assert abs(c["confidence"] - expected[c["class_id"]]) < 1e-4
        assert (ours["width"], ours["height"]) == (pred.width, pred.height)


def test_yolos_matches_the_trainer(
    transformers_runs: dict[str, Trained], exports: dict[str, ExportResult]
) -> None:
    run = transformers_runs["yolos"]
    model = Model(exports["yolos"].model_file.parent)
    assert exports["yolos"].metadata["postprocessing"]["kind"] == "detr_boxes"
    preds = get_trainer("transformers").predict(run.checkpoint, run.images, confidence=0.0)
    for image, pred in zip(run.images, preds, strict=True):
        ours = model.predict(image, confidence=0.0, max_detections=100)
        theirs = [
            {"class_id": i.class_id, "confidence": i.confidence, "bbox": list(i.bbox)}
            for i in pred.instances
        ]
        assert len(theirs) == 100  # every query of the tiny model
        _match(ours["instances"], theirs, pixels=0.01)


def test_a_runner_replaces_onnx_runtime(
    varied: dict[str, Trained], exports: dict[str, ExportResult]
) -> None:
    """What exporters.predictor does for TorchScript and OpenVINO: vap_runtime's pre- and
    postprocessing around another engine (here the PyTorch module itself)."""
    module = _source_module("ultralytics", varied["pose"].checkpoint)
    folder = exports["pose-varied"].model_file.parent
    by_torch = Model(folder, runner=lambda x: _torch_outputs(module, x))
    by_onnx = Model(folder)
    for image in varied["pose"].images:
        a, b = by_torch.predict(image), by_onnx.predict(image)
        _match(a["instances"], b["instances"], pixels=0.01)


# --- metadata -------------------------------------------------------------------------------


def test_metadata_says_how_to_feed_and_read_each_model(exports: dict[str, ExportResult]) -> None:
    expected = {
        "detect": ("letterbox", "yolo_detect", ["predictions"]),
        "segment": ("letterbox", "yolo_segment", ["predictions", "protos"]),
        "pose": ("letterbox", "yolo_pose", ["predictions"]),
        "classify": (
            "resize_shorter_center_crop",
            "classification_probabilities",
            ["probabilities"],
        ),
        "vit": ("resize", "classification_softmax", ["logits"]),
        "yolos": ("resize", "detr_boxes", ["logits", "pred_boxes"]),
    }
    for name, (method, kind, outputs) in expected.items():
        meta = json.loads(exports[name].metadata_file.read_text())
        pre, post = meta["preprocessing"], meta["postprocessing"]
        assert pre["resize"]["method"] == method and pre["channel_order"] == "RGB"
        assert len(pre["mean"]) == len(pre["std"]) == 3 and pre["scale"] == pytest.approx(1 / 255)
        assert post["kind"] == kind
        assert [o["name"] for o in meta["outputs"]] == outputs
        assert meta["input"]["name"] == "images" and meta["input"]["layout"] == "NCHW"
    letterbox = exports["detect"].metadata["preprocessing"]["resize"]
    assert letterbox == {
        "method": "letterbox",
        "size": [128, 128],
        "interpolation": "bilinear_half_pixel",
        "fill_value": 114,
        "center": True,
    }
    assert exports["pose"].metadata["postprocessing"]["keypoint_shape"] == [3, 3]
    assert exports["segment"].metadata["postprocessing"]["mask_coefficients"] == 32
    assert exports["yolos"].metadata["postprocessing"]["no_object_class"] == "last"


# --- (c) the package runs where this repository cannot be imported -------------------------

# What the package's check runs (after tests.packages forbids this repository and the
# frameworks).
_CHECK = """
from vap_runtime import Model
model = Model(".")
out = []
for image in {images!r}:
    out.append(model.predict(image, confidence=0.25))
    out.append(model.predict(open(image, "rb").read(), confidence=0.25))
import vap_runtime
print(json.dumps({{"runtime": vap_runtime.__file__, "predictions": out}}))
"""
_FRAMEWORKS = {"torch", "ultralytics", "transformers", "cv2", "timm", "scipy"}


@pytest.mark.parametrize("task", ["detect", "segment"])
def test_the_package_predicts_alone_like_in_process(
    task: str, varied: dict[str, Trained], exports: dict[str, ExportResult], tmp_path: Path
) -> None:
    package = build_package(exports[f"{task}-varied"], tmp_path / "pkg.zip")
    with zipfile.ZipFile(package) as z:
        assert {"model.onnx", "metadata.json", "vap_runtime.py", "labels.txt"} <= set(z.namelist())
        z.extractall(tmp_path / "unpacked")
    unpacked = tmp_path / "unpacked"
    assert (unpacked / "vap_runtime.py").read_bytes() == RUNTIME.read_bytes()
    images = [str(p) for p in varied[task].images]
    report = run_alone(unpacked, _CHECK.format(images=images), _FRAMEWORKS)
    assert Path(report["runtime"]) == unpacked / "vap_runtime.py"
    alone = report["predictions"]
    here = Model(exports[f"{task}-varied"].model_file.parent)
    for i, image in enumerate(varied[task].images):
        expected = here.predict(image, confidence=0.25)
        by_path, by_bytes = alone[2 * i], alone[2 * i + 1]
        assert by_path["image_id"] == image.name and by_bytes["image_id"] == "image"
        for got in (by_path, by_bytes):
            assert got["instances"] == json.loads(json.dumps(expected["instances"]))
        assert expected["instances"]
        if task == "segment":
            assert all(len(inst["polygon"]) >= 3 for inst in by_path["instances"])


# --- the runtime file itself ----------------------------------------------------------------


def test_the_runtime_is_one_file_of_numpy_pillow_onnxruntime_for_python_3_9() -> None:
    source = RUNTIME.read_text()
    tree = ast.parse(source, feature_version=(3, 9))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    third_party = imported - set(sys.stdlib_module_names)
    assert third_party == {"numpy", "PIL", "onnxruntime"}


def test_the_outline_follows_the_largest_region_around_holes_and_diagonals() -> None:
    mask = np.zeros((12, 14), bool)
    mask[1:9, 2:10] = True  # 8 x 8 ...
    mask[4:6, 4:6] = False  # ... with a hole
    mask[9, 10] = True  # touching only at a corner: the same 8-connected region
    mask[10:12, 12:14] = True  # a separate, smaller region
    outline = largest_outline(mask)
    assert outline is not None
    xs, ys = outline[:, 0], outline[:, 1]
    area = 0.5 * abs(np.dot(xs, np.roll(ys, -1)) - np.dot(np.roll(xs, -1), ys))
    assert area == 8 * 8 + 1  # the hole is inside the outer boundary
    assert (xs.min(), ys.min(), xs.max(), ys.max()) == (2, 1, 11, 10)
    assert largest_outline(np.zeros((4, 4), bool)) is None


def test_the_letterbox_resize_is_opencvs_to_the_bit() -> None:
    import cv2

    from vap_runtime.model import resize_half_pixel

    photo = np.asarray(Image.open(package_image("ultralytics", "assets/bus.jpg")).convert("RGB"))
    small = np.asarray(Image.fromarray(photo).resize((84, 112), Image.Resampling.BILINEAR))
    for image, size in [
        (photo, (96, 128)),
        (photo, (405, 540)),
        (small, (96, 128)),
        (small, (43, 57)),
    ]:
        expected = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
        assert np.array_equal(resize_half_pixel(image, *size), expected), size
