"""Export formats beyond ONNX, optimization, the predictor and the packages, on a real
model: resnet18 trained 2 epochs (seed 1) on scikit-learn's digits at 32 px, exported to
TorchScript, OpenVINO, dynamic and static INT8, FP16 and ONNX with the preprocessing
inside; each checked against PyTorch on the 355 validation images; plus one Ultralytics
detector through TorchScript and OpenVINO.

Seed 1's epoch 2 is the checkpoint where ONNX Runtime's default dynamic quantization
agrees with float32 on only 96.6% of top-1 predictions: the 99% bar below is the fix.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trainers import offline

offline.apply()

import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from contract.manifest import Manifest  # noqa: E402
from exporters import predictor  # noqa: E402
from exporters.embed_preprocessing import embed_preprocessing  # noqa: E402
from exporters.package import (  # noqa: E402
    build_container_bundle,
    build_edge_package,
    build_package,
    triton_config,
)
from exporters.quantize import preprocessed_images  # noqa: E402
from exporters.registry import ExportResult, export, runtime_reads_embedded_preprocessing  # noqa: E402
from functions.capabilities import export_capabilities as capabilities  # noqa: E402
from tests.digits import digits_dataset  # noqa: E402
from tests.training import timm_val_batch, train_checkpoint  # noqa: E402
from trainers.classification_data import split_entries  # noqa: E402
from trainers.timm_trainer import load_checkpoint, model_from_checkpoint  # noqa: E402
from vap_runtime import Model  # noqa: E402

# Training dominates (~5 s idle); on a loaded shared machine it took 224 s, past the
# suite's 300 s per-test limit, which covers module fixtures too.
pytestmark = pytest.mark.timeout(900)

REPO = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-4  # float32 formats vs PyTorch
CALIBRATION_IMAGES = 128

# Network attempts seen while `_watching` is on (an audit hook cannot be removed again).
_network: list[Any] = []
_watching = False


def _audit(event: str, args: tuple) -> None:  # type: ignore[type-arg]
    if _watching and event in ("socket.connect", "socket.getaddrinfo"):
        _network.append((event, args))


sys.addaudithook(_audit)


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, Path]:
    folder = tmp_path_factory.mktemp("digits")
    return digits_dataset(folder), folder


@pytest.fixture(scope="module")
def checkpoint(digits: tuple[Manifest, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    manifest, data = digits
    # Three epochs: after two, a few val images had near-tied logits, and static INT8's
    # top-1 agreement moved with the thread count torch trained with (0.978 with
    # OMP_NUM_THREADS=1, which importing Ultralytics first sets; 0.989 with two).
    settings = {"epochs": 3, "batch_size": 64, "image_size": 32, "augmentation": "none", "seed": 1}
    return train_checkpoint(
        "timm", "resnet18", manifest, data, tmp_path_factory.mktemp("work"), **settings
    )


@pytest.fixture(scope="module")
def torch_model(checkpoint: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    state = load_checkpoint(checkpoint)
    return model_from_checkpoint(state).eval(), state


@pytest.fixture(scope="module")
def val(
    digits: tuple[Manifest, Path], torch_model: tuple[torch.nn.Module, dict[str, Any]]
) -> tuple[np.ndarray, list[Path]]:
    """Every val image (355), preprocessed exactly as the trainer evaluates."""
    return timm_val_batch(*digits, torch_model[1])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def train_paths(digits: tuple[Manifest, Path]) -> list[Path]:
    manifest, data = digits
    return [data / e.path for e in split_entries(manifest, "train")]


@pytest.fixture(scope="module")
def exports(
    checkpoint: Path, train_paths: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, ExportResult]:
    """Every (format, option) this file checks, exported once; no network allowed."""
    global _watching
    plans: dict[str, tuple[str, dict[str, Any]]] = {
        "onnx": ("onnx", {}),
        "torchscript": ("torchscript", {}),
        "openvino": ("openvino", {}),
        "dynamic_int8": ("onnx", {"quantize": "dynamic_int8"}),
        "static_int8": ("onnx", {"quantize": "static_int8"}),
        "fp16": ("onnx", {"quantize": "fp16"}),
        "openvino_fp16": ("openvino", {"quantize": "fp16"}),
        "openvino_int8": ("openvino", {"quantize": "static_int8"}),
    }
    calibration = train_paths[:: max(1, len(train_paths) // CALIBRATION_IMAGES)]
    out = {}
    _watching = True
    try:
        for key, (fmt, options) in plans.items():
            if options.get("quantize") == "static_int8":
                options = options | {"calibration_images": calibration}
            folder = tmp_path_factory.mktemp(key)
            out[key] = export(checkpoint, "timm", fmt, folder, latency_runs=3, **options)
    finally:
        _watching = False
    assert _network == [], f"exports touched the network: {_network[:5]}"
    return out


def _onnx(model_file: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]  # type: ignore[no-any-return]


def _torch(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()  # type: ignore[no-any-return]


def _run(result: ExportResult, x: np.ndarray) -> np.ndarray:
    runner = predictor.runner_for(result.model_file.parent, result.metadata)
    return np.asarray(runner(np.ascontiguousarray(x))[0])


def _agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float((a.argmax(1) == b.argmax(1)).mean())


# --- float32 formats equal PyTorch -------------------------------------------------------


@pytest.mark.parametrize("key", ["torchscript", "openvino"])
def test_float32_formats_equal_pytorch(
    key: str,
    exports: dict[str, ExportResult],
    torch_model: tuple[torch.nn.Module, dict[str, Any]],
    val: tuple[np.ndarray, list[Path]],
) -> None:
    model, _ = torch_model
    x, _ = val
    for batch in (x[:1], x[1:6], x):
        out = _run(exports[key], batch)
        expected = _torch(model, batch)
        diff = float(np.abs(out - expected).max())
        print(f"{key} batch {len(batch)}: max abs diff vs PyTorch {diff:.2e}")
        assert out.shape == expected.shape and diff < TOLERANCE


def test_formats_write_their_files_and_describe_them(exports: dict[str, ExportResult]) -> None:
    ts, ov = exports["torchscript"], exports["openvino"]
    assert [p.name for p in ts.files] == ["model.pt", "metadata.json"]
    assert [p.name for p in ov.files] == ["model.xml", "model.bin", "metadata.json"]
    for result in (ts, ov):
        folder = result.model_file.parent
        assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in result.files)
        meta = json.loads(result.metadata_file.read_text())
        assert meta["model_file"] == result.model_file.name
        assert meta["input"]["name"] == "images" and meta["input"]["shape"][1:] == [3, 32, 32]
        assert meta["outputs"][0]["name"] == "logits"
        assert meta["size_bytes"] == result.size_bytes
        assert meta["optimization"]["method"] is None
    assert ts.metadata["latency"]["runtime"].startswith("torch ")
    assert ov.metadata["latency"]["runtime"].startswith("openvino ")
    assert ov.metadata["model_files"] == ["model.xml", "model.bin"]
    # float32 weights: OpenVINO's save_model would halve them unless told not to
    assert ov.size_bytes > 0.95 * exports["onnx"].size_bytes


# --- optimization --------------------------------------------------------------------------


def test_dynamic_int8_is_small_and_agrees_on_top1(
    exports: dict[str, ExportResult], val: tuple[np.ndarray, list[Path]]
) -> None:
    x, _ = val
    fp32, int8 = exports["onnx"], exports["dynamic_int8"]
    ratio = int8.size_bytes / fp32.size_bytes
    reference = _onnx(fp32.model_file, x)
    agreement = _agreement(_onnx(int8.model_file, x), reference)
    print(f"dynamic INT8: {ratio:.3f}x the fp32 size, top-1 agreement {agreement:.4f} on {len(x)}")
    assert len(x) == 355 and len(set(reference.argmax(1).tolist())) >= 8
    assert ratio <= 0.35 and agreement >= 0.99
    opt = int8.metadata["optimization"]
    assert opt["method"] == "dynamic_int8" and opt["float32_nodes"] > 0
    assert opt["original_size_bytes"] == fp32.size_bytes
    assert opt["exported_size_bytes"] == int8.size_bytes
    assert int8.metadata["export_options"]["quantization"] == "dynamic_int8"


def test_static_int8_is_a_qdq_graph_calibrated_on_train_images(
    exports: dict[str, ExportResult], val: tuple[np.ndarray, list[Path]]
) -> None:
    x, _ = val
    fp32, int8 = exports["onnx"], exports["static_int8"]
    ops = {n.op_type for n in onnx.load(str(int8.model_file)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    reference = _onnx(fp32.model_file, x)
    for key in ("static_int8", "openvino_int8"):  # OpenVINO runs the same QDQ graph as INT8
        result = exports[key]
        ratio = result.size_bytes / fp32.size_bytes
        agreement = _agreement(_run(result, x), reference)
        print(f"{key} (QDQ): {ratio:.3f}x the fp32 size, top-1 agreement {agreement:.4f}")
        assert ratio <= 0.35 and agreement >= 0.98
        opt = result.metadata["optimization"]
        assert opt["method"] == "static_int8" and opt["calibration_images"] >= 100


def test_fp16_halves_the_model_and_keeps_float32_io(
    exports: dict[str, ExportResult], val: tuple[np.ndarray, list[Path]]
) -> None:
    x, _ = val
    fp32 = exports["onnx"]
    reference = _onnx(fp32.model_file, x)
    for key in ("fp16", "openvino_fp16"):
        result = exports[key]
        out = _run(result, x)
        ratio = result.size_bytes / fp32.size_bytes
        agreement = _agreement(out, reference)
        diff = float(np.abs(out - reference).max())
        print(f"{key}: {ratio:.3f}x the fp32 size, agreement {agreement:.4f}, max diff {diff:.2e}")
        assert 0.45 <= ratio <= 0.55 and agreement >= 0.99
        assert result.metadata["input"]["dtype"] == "float32"
        assert result.metadata["outputs"][0]["dtype"] == "float32"
        assert result.metadata["optimization"]["method"] == "fp16"


def test_calibration_sees_what_the_trainer_evaluates(
    val: tuple[np.ndarray, list[Path]], exports: dict[str, ExportResult]
) -> None:
    x, paths = val
    meta = exports["onnx"].metadata
    batches = list(preprocessed_images(paths[:20], meta["preprocessing"], meta["postprocessing"]))
    assert float(np.abs(np.concatenate(batches) - x[:20]).max()) < 1e-5


def test_embedding_the_preprocessing_makes_the_graph_take_uint8_images(
    exports: dict[str, ExportResult], val: tuple[np.ndarray, list[Path]], tmp_path: Path
) -> None:
    x, paths = val
    fp32 = exports["onnx"]
    embedded = embed_preprocessing(
        fp32.model_file, tmp_path / "e.onnx", fp32.metadata["preprocessing"]
    )
    session = ort.InferenceSession(str(embedded), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.name == "images" and inp.type == "tensor(uint8)" and inp.shape[1:] == [32, 32, 3]
    assert isinstance(inp.shape[0], str)  # the batch stays dynamic
    pixels = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths[:40]])
    diff = float(
        np.abs(session.run(None, {"images": pixels})[0] - _onnx(fp32.model_file, x[:40])).max()
    )
    print(f"preprocessing in the graph vs vap_runtime's: max abs diff {diff:.2e}")
    assert diff < TOLERANCE


def test_embed_preprocessing_exports_only_what_vap_runtime_can_feed(
    checkpoint: Path, torch_model: tuple[torch.nn.Module, dict[str, Any]],
    val: tuple[np.ndarray, list[Path]], tmp_path: Path,
) -> None:  # fmt: skip
    assert runtime_reads_embedded_preprocessing()
    result = export(checkpoint, "timm", "onnx", tmp_path, embed_preprocessing=True, latency_runs=1)
    meta = result.metadata
    assert meta["preprocessing"]["embedded"] is True
    assert meta["input"] | {"shape": None} == {
        "name": "images",
        "shape": None,
        "dtype": "uint8",
        "layout": "NHWC",
    }
    x, paths = val
    model, _ = torch_model
    expected = _torch(model, x[:50]).argmax(1).tolist()
    loaded = predictor.load(tmp_path)
    assert [loaded.predict(str(p))["classes"][0]["class_id"] for p in paths[:50]] == expected


# --- the predictor -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["onnx", "torchscript", "openvino", "dynamic_int8", "static_int8", "fp16"]
)
def test_the_predictor_of_each_export_predicts_like_pytorch(
    key: str,
    exports: dict[str, ExportResult],
    torch_model: tuple[torch.nn.Module, dict[str, Any]],
    val: tuple[np.ndarray, list[Path]],
) -> None:
    model, _ = torch_model
    x, paths = val
    loaded = predictor.load(exports[key].model_file.parent)
    assert isinstance(loaded, Model)
    expected = _torch(model, x).argmax(1)
    got = [loaded.predict(Image.open(p), top_k=3)["classes"][0]["class_id"] for p in paths]
    agreement = float((np.asarray(got) == expected).mean())
    print(f"{key}: predictor top-1 equals PyTorch's on {agreement:.4f} of {len(paths)} images")
    assert agreement >= (1.0 if key in ("onnx", "torchscript", "openvino") else 0.98)


# --- packages ------------------------------------------------------------------------------

# The venv holds this repository as an editable install: the guard refuses its packages
# (and torch), and takes vap_runtime only from the unpacked package's own vap_runtime.py.
_FORBIDDEN = sorted(
    {p.name for p in REPO.iterdir() if (p / "__init__.py").exists()} - {"vap_runtime"}
    | {"torch", "timm"}
)
_GUARD = (
    "import os, sys\n"
    "from importlib.machinery import PathFinder\n"
    "class Forbid:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'vap_runtime':\n"
    "            return PathFinder.find_spec(name, [os.getcwd()])\n"
    f"        if name.split('.')[0] in {_FORBIDDEN!r}:\n"
    "            raise ImportError('the package imported ' + name)\n"
    "sys.meta_path.insert(0, Forbid())\n"
    "sys.argv = sys.argv[1:]\n"
    "import runpy\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


def _unzip(package: Path, folder: Path) -> set[str]:
    with zipfile.ZipFile(package) as z:
        z.extractall(folder)
        return set(z.namelist())


def test_the_download_package_holds_model_runtime_and_wrappers(
    exports: dict[str, ExportResult], tmp_path: Path
) -> None:
    names = _unzip(build_package(exports["onnx"], tmp_path / "pkg.zip"), tmp_path / "pkg")
    wrappers = {
        "runtimes/cpp/main.cpp",
        "runtimes/cpp/CMakeLists.txt",
        "runtimes/swift/VapModel.swift",
        "runtimes/kotlin/VapModel.kt",
    }
    core = {"model.onnx", "metadata.json", "labels.txt", "vap_runtime.py", "example.py"}
    assert names == core | {"README.md"} | wrappers
    for name in wrappers:
        text = (tmp_path / "pkg" / name).read_text()
        assert "{{" not in text, name  # every placeholder filled
    cpp = (tmp_path / "pkg" / "runtimes/cpp/main.cpp").read_text()
    assert "kHeight = 32" in cpp and "kSoftmax = true" in cpp
    kotlin = (tmp_path / "pkg" / "runtimes/kotlin/VapModel.kt").read_text()
    assert '"images"' in kotlin and "model.onnx" in kotlin
    ts = _unzip(build_package(exports["torchscript"], tmp_path / "ts.zip"), tmp_path / "ts")
    assert "model.pt" in ts and not any(n.startswith("runtimes/") for n in ts)


def test_the_edge_package_predicts_alone_like_vap_runtime(
    exports: dict[str, ExportResult], val: tuple[np.ndarray, list[Path]], tmp_path: Path
) -> None:
    _, paths = val
    images = [str(paths[i]) for i in (0, 50, 150, 300)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for key in ("onnx", "openvino"):
        result = exports[key]
        folder = tmp_path / key
        names = _unzip(build_edge_package(result, tmp_path / f"{key}.zip"), folder)
        assert {"labels.txt", "metadata.json", "vap_runtime.py", "predict.py", "README.md"} <= names
        assert {p.name for p in result.files} <= names
        (folder / "guard.py").write_text(_GUARD)
        done = subprocess.run(
            [sys.executable, "guard.py", "predict.py", *images, "--top-k", "2"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        alone = [json.loads(line) for line in done.stdout.strip().splitlines()]
        here = predictor.load(result.model_file.parent)
        assert [p["classes"][0]["class_id"] for p in alone] == [
            here.predict(i, top_k=2)["classes"][0]["class_id"] for i in images
        ]
        assert all(len(p["classes"]) == 2 for p in alone)


def _pbtxt_tensors(text: str, kind: str) -> list[dict[str, Any]]:
    """input/output entries of a config.pbtxt: name, data_type, dims."""
    block = re.search(rf"^{kind} \[(.*?)^\]", text, re.S | re.M)
    assert block, f"no {kind} block"
    return [
        {"name": n, "data_type": t, "dims": [int(d) for d in dims.split(",")]}
        for n, t, dims in re.findall(
            r'name: "([^"]+)"\s+data_type: (\w+)\s+dims: \[ ([-\d, ]+) \]', block.group(1)
        )
    ]


_ORT_TO_TRITON = {"tensor(float)": "TYPE_FP32", "tensor(uint8)": "TYPE_UINT8"}


@pytest.mark.parametrize("key", ["onnx", "dynamic_int8"])
def test_the_triton_config_matches_the_onnx_graph(
    key: str, exports: dict[str, ExportResult], tmp_path: Path
) -> None:
    result = exports[key]
    names = _unzip(build_container_bundle(result, tmp_path / "c.zip"), tmp_path / "c")
    assert {
        "Dockerfile",
        "build.sh",
        "README.md",
        "metadata.json",
        "labels.txt",
        "model_repository/resnet18/config.pbtxt",
        "model_repository/resnet18/1/model.onnx",
    } == names
    config = (tmp_path / "c/model_repository/resnet18/config.pbtxt").read_text()
    assert 'platform: "onnxruntime_onnx"' in config and "max_batch_size: 8" in config
    assert "dynamic_batching" in config
    session = ort.InferenceSession(
        str(tmp_path / "c/model_repository/resnet18/1/model.onnx"),
        providers=["CPUExecutionProvider"],
    )
    for kind, args in (("input", session.get_inputs()), ("output", session.get_outputs())):
        assert _pbtxt_tensors(config, kind) == [
            {"name": a.name, "data_type": _ORT_TO_TRITON[a.type], "dims": list(a.shape[1:])}
            for a in args
        ]
    assert "FROM nvcr.io/nvidia/tritonserver:" in (tmp_path / "c/Dockerfile").read_text()
    with zipfile.ZipFile(tmp_path / "c.zip") as z:  # extractall drops the mode bits
        assert z.getinfo("build.sh").external_attr >> 16 & 0o111


def test_triton_bundles_of_torchscript_and_openvino(
    exports: dict[str, ExportResult], tmp_path: Path
) -> None:
    ts = tmp_path / "ts"
    names = _unzip(build_container_bundle(exports["torchscript"], tmp_path / "ts.zip"), ts)
    assert "model_repository/resnet18/1/model.pt" in names
    config = (ts / "model_repository/resnet18/config.pbtxt").read_text()
    assert 'platform: "pytorch_libtorch"' in config
    assert _pbtxt_tensors(config, "input") == [
        {"name": "INPUT__0", "data_type": "TYPE_FP32", "dims": [3, 32, 32]}
    ]
    assert _pbtxt_tensors(config, "output") == [
        {"name": "OUTPUT__0", "data_type": "TYPE_FP32", "dims": [10]}
    ]
    ov = tmp_path / "ov"
    names = _unzip(build_container_bundle(exports["openvino"], tmp_path / "ov.zip"), ov)
    assert {
        "model_repository/resnet18/1/model.xml",
        "model_repository/resnet18/1/model.bin",
    } <= names
    assert 'backend: "openvino"' in (ov / "model_repository/resnet18/config.pbtxt").read_text()
    # without a dynamic batch the batch is part of dims and Triton does not batch
    fixed = json.loads(exports["onnx"].metadata_file.read_text())
    fixed["export_options"]["dynamic_batch"] = False
    fixed["inputs"][0]["shape"] = [1, 3, 32, 32]
    fixed["outputs"][0]["shape"] = [1, 10]
    config = triton_config(fixed)
    assert "max_batch_size: 0" in config and "dynamic_batching" not in config
    assert _pbtxt_tensors(config, "input")[0]["dims"] == [1, 3, 32, 32]
    assert _pbtxt_tensors(config, "output")[0]["dims"] == [1, 10]


# --- capabilities and refusals -------------------------------------------------------------


def test_capabilities_are_cheap_and_honest(exports: dict[str, ExportResult]) -> None:
    code = (
        "import json, sys\n"
        "from functions.capabilities import export_capabilities as capabilities\n"
        "print(json.dumps({'caps': capabilities(), 'gpu': capabilities(gpu=True),\n"
        "                  'heavy': sorted(m for m in ('torch', 'onnx', 'openvino', 'exporters')\n"
        "                                  if m in sys.modules)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    out = json.loads(done.stdout)
    assert out["heavy"] == []
    caps = out["caps"]
    exported = {r.fmt for r in exports.values()}
    for fmt, cap in caps["timm"].items():
        assert cap["supported"] == (fmt in exported), fmt  # claimed iff exported above
        assert cap["supported"] or cap["reason"]
    assert caps["timm"]["onnx"] == {"supported": True, "route": "native", "reason": None}
    assert caps["timm"]["torchscript"]["route"] == "native"
    assert caps["timm"]["openvino"]["route"] == "via_onnx"
    assert "pydantic" in caps["timm"]["tflite"]["reason"]
    assert "macOS" in caps["timm"]["coreml"]["reason"]
    assert "GPU" in caps["timm"]["tensorrt"]["reason"] or out["gpu"] == caps
    assert out["gpu"]["timm"]["tensorrt"]["supported"] is False
    assert "ONNX" in out["gpu"]["timm"]["tensorrt"]["reason"]
    assert capabilities(gpu=False)["timm"]["tensorrt"]["reason"].startswith("TensorRT needs")


def test_unsupported_combinations_are_refused(
    checkpoint: Path, train_paths: list[Path], tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="torchscript export does not support quantize"):
        export(checkpoint, "timm", "torchscript", tmp_path, quantize="dynamic_int8")
    with pytest.raises(ValueError, match="openvino export does not support quantize"):
        export(checkpoint, "timm", "openvino", tmp_path, quantize="dynamic_int8")
    with pytest.raises(ValueError, match="calibration_images"):
        export(checkpoint, "timm", "onnx", tmp_path, quantize="static_int8")
    with pytest.raises(ValueError, match="embed_preprocessing"):
        export(checkpoint, "timm", "openvino", tmp_path, embed_preprocessing=True)
    with pytest.raises(ValueError, match="format"):
        export(checkpoint, "timm", "coreml", tmp_path)
    assert list(tmp_path.iterdir()) == []  # refused before anything is written


# --- Ultralytics ---------------------------------------------------------------------------


def test_an_ultralytics_detector_exports_to_torchscript_and_openvino(
    tmp_path: Path,
) -> None:
    from exporters.ultralytics_source import ultralytics_source
    from tests.detection_data import detection_dataset

    manifest = detection_dataset(tmp_path / "files")
    checkpoint = train_checkpoint(
        "ultralytics", "yolo11n", manifest, tmp_path / "files", tmp_path / "work",
        epochs=1, batch_size=4, image_size=96,
    )  # fmt: skip
    source = ultralytics_source(checkpoint)
    x = np.random.default_rng(0).random((2, 3, 96, 96), dtype=np.float32)
    with torch.no_grad():
        expected = source.module(torch.from_numpy(x))
    expected = (expected if isinstance(expected, tuple) else (expected,))[0].numpy()
    image = tmp_path / "files" / next(i.path for i in manifest.images if i.split == "val")
    predictions = {}
    for fmt in ("onnx", "torchscript", "openvino"):
        result = export(checkpoint, "ultralytics", fmt, tmp_path / fmt, latency_runs=1)
        out = _run(result, x)
        diff = float(np.abs(out - expected).max() / max(1.0, np.abs(expected).max()))
        print(f"yolo11n {fmt}: max relative diff vs PyTorch {diff:.2e}")
        assert out.shape == expected.shape and diff < TOLERANCE
        predictions[fmt] = predictor.load(tmp_path / fmt).predict(str(image), confidence=0.0)
    # An untrained head scores many overlapping anchors alike, so a 1e-7 difference can
    # flip an NMS decision: the raw outputs are compared above; here, the best instance.
    best = {f: p["instances"][0] for f, p in predictions.items() if p["instances"]}
    assert set(best) == {"onnx", "torchscript", "openvino"}
    for fmt in ("torchscript", "openvino"):
        assert best[fmt]["class_id"] == best["onnx"]["class_id"], fmt
        assert abs(best[fmt]["confidence"] - best["onnx"]["confidence"]) < 1e-4, fmt


# --- transformers --------------------------------------------------------------------------


# "yolos-tiny" (detection: two outputs) passes too (max relative diff 6e-8) but adds ~40 s
# to this file; add it here when changing how transformers models are traced.
@pytest.mark.parametrize("model", ["vit-tiny"])
def test_transformers_models_export_to_torchscript_and_openvino(model: str, tmp_path: Path) -> None:
    from exporters.transformers_source import transformers_source
    from tests.detection_data import detection_dataset

    if model == "vit-tiny":
        manifest, size = digits_dataset(tmp_path / "files", per_class=5, size=32), 32
    else:
        manifest, size = detection_dataset(tmp_path / "files"), 64
    checkpoint = train_checkpoint(
        "transformers", model, manifest, tmp_path / "files", tmp_path / "work",
        epochs=1, batch_size=4, image_size=size, augmentation="none",
    )  # fmt: skip
    source = transformers_source(checkpoint)
    x = np.random.default_rng(0).standard_normal((2, 3, size, size), dtype=np.float32)
    with torch.no_grad():
        expected = source.module(torch.from_numpy(x))
    expected = [t.numpy() for t in (expected if isinstance(expected, tuple) else (expected,))]
    for fmt in ("torchscript", "openvino"):
        result = export(checkpoint, "transformers", fmt, tmp_path / fmt, latency_runs=1)
        runner = predictor.runner_for(result.model_file.parent, result.metadata)
        outputs = [np.asarray(o) for o in runner(x)]
        assert len(outputs) == len(expected)
        for out, ref in zip(outputs, expected, strict=True):
            diff = float(np.abs(out - ref).max() / max(1.0, np.abs(ref).max()))
            print(f"{model} {fmt}: max relative diff vs PyTorch {diff:.2e}")
            assert out.shape == ref.shape and diff < TOLERANCE
        image = tmp_path / "files" / next(i.path for i in manifest.images if i.split == "val")
        assert predictor.load(tmp_path / fmt).predict(str(image))["image_id"] == image.name
