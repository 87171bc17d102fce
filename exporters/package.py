"""Packages of an export, each one zip a user unpacks and runs with nothing of this platform.

- `build_package` (download): the model, metadata.json, labels.txt, vap_runtime.py,
  example.py (predicts images: `python example.py IMAGE`), README.md and, where the
  format has them (ONNX), runtimes/ with C++, Swift and Kotlin wrapper templates.
- `build_edge_package`: the same files for a device, the sample named predict.py.
- `build_container_bundle`: a Triton Inference Server image: Dockerfile, build.sh,
  README.md, model_repository/<name>/config.pbtxt and 1/<the model>, with input and output
  names, dtypes and dims read from the export's metadata.json (which describes the graph).

Templates live in exporters/templates/ with `{{NAME}}` placeholders (see `template_values`);
what differs by format (pip packages, the sample's runner, wrappers, Triton backend) is the
format's `Packaging` (exporters/formats/<name>.py).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from exporters.format_spec import Packaging
from exporters.registry import ExportResult, format_spec

# vap_runtime/model.py: one self-contained file, shipped as vap_runtime.py (a sibling
# package of exporters, found by path so that building a package imports no numpy).
RUNTIME = Path(__file__).resolve().parents[1] / "vap_runtime" / "model.py"
TEMPLATES = Path(__file__).parent / "templates"
# (template, name in the package) of the native-language wrappers (ONNX Runtime APIs)
WRAPPERS = [
    ("cpp/main.cpp", "runtimes/cpp/main.cpp"),
    ("cpp/CMakeLists.txt", "runtimes/cpp/CMakeLists.txt"),
    ("swift/VapModel.swift", "runtimes/swift/VapModel.swift"),
    ("kotlin/VapModel.kt", "runtimes/kotlin/VapModel.kt"),
]
TRITON_VERSION = "25.01"
TRITON_MAX_BATCH = 8  # the largest batch Triton forms when the export has a dynamic batch
_TRITON_DTYPES = {
    "float32": "TYPE_FP32",
    "float16": "TYPE_FP16",
    "float64": "TYPE_FP64",
    "uint8": "TYPE_UINT8",
    "int8": "TYPE_INT8",
    "int32": "TYPE_INT32",
    "int64": "TYPE_INT64",
    "bool": "TYPE_BOOL",
}
# The sample's runner where vap_runtime's own ONNX Runtime session runs the model file.
_OWN_SESSION_RUNNER = '''def runner(metadata):
    """None: vap_runtime's own ONNX Runtime session runs the model file."""
    return None'''


# --- filling templates ------------------------------------------------------------------


def _floats(values: list[float], suffix: str = "") -> str:
    return ", ".join(f"{float(v):.8g}{suffix}" for v in values)


def _normalization(metadata: dict[str, Any]) -> str:
    pre = metadata["preprocessing"]
    if pre.get("embedded"):
        return "uint8 NHWC into the graph (it normalizes inside)"
    return (
        f"x * {float(pre.get('scale', 1 / 255)):.6g}, minus mean {pre.get('mean')}, "
        f"divided by std {pre.get('std')} per channel, NCHW float32"
    )


def _packaging(metadata: dict[str, Any]) -> Packaging:
    return format_spec(metadata["export_format"]).packaging


def triton_name(metadata: dict[str, Any]) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", metadata["model_name"]).strip("_") or "model"


def template_values(metadata: dict[str, Any]) -> dict[str, str]:
    """Every `{{NAME}}` the templates use, from an export's metadata.json."""
    pre = metadata["preprocessing"]
    height, width = (int(v) for v in pre["resize"]["size"])
    embedded = bool(pre.get("embedded"))
    softmax = (
        metadata["postprocessing"].get("activation") == "softmax"
        or metadata["postprocessing"].get("kind") == "classification_softmax"
    )
    packaging = _packaging(metadata)
    mean = pre.get("mean", [0.0, 0.0, 0.0])
    std = pre.get("std", [1.0, 1.0, 1.0])

    def flag(value: bool) -> str:
        return "true" if value else "false"

    return {
        "MODEL_NAME": metadata["model_name"],
        "TASK_TYPE": metadata["task_type"],
        "FORMAT": metadata["export_format"],
        "MODEL_FILE": metadata["model_file"],
        "INPUT_NAME": metadata["input"]["name"],
        "HEIGHT": str(height),
        "WIDTH": str(width),
        "RESIZE_METHOD": pre["resize"].get("method", "resize"),
        "NORMALIZATION": _normalization(metadata),
        "MEAN": _floats(mean, "f"),
        "STD": _floats(std, "f"),
        "MEAN_KOTLIN": _floats(mean, "f"),
        "STD_KOTLIN": _floats(std, "f"),
        "SCALE": f"{float(pre.get('scale', 1 / 255)):.8g}",
        "EMBEDDED_CPP": flag(embedded),
        "EMBEDDED_SWIFT": flag(embedded),
        "EMBEDDED_KOTLIN": flag(embedded),
        "SOFTMAX_CPP": flag(softmax),
        "SOFTMAX_SWIFT": flag(softmax),
        "SOFTMAX_KOTLIN": flag(softmax),
        "PIP_PACKAGES": packaging.pip,
        "RUNNER": packaging.sample_runner or _OWN_SESSION_RUNNER,
    }


def fill(template: str, values: dict[str, str]) -> str:
    """The template with every `{{NAME}}` replaced; KeyError names a missing value."""
    text = (TEMPLATES / template).read_text()

    def value(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return re.sub(r"\{\{([A-Z0-9_]+)\}\}", value, text)


# --- the download and edge packages -----------------------------------------------------


def readme(metadata: dict[str, Any], sample: str = "example.py") -> str:
    pre = metadata["preprocessing"]
    inp = metadata["input"]
    opts = metadata["export_options"]
    fmt = metadata["export_format"]
    latency = metadata.get("latency", {})
    optimization = metadata.get("optimization") or {}
    if pre.get("embedded"):
        feeding = (
            f"{pre['resize']['method']} to {pre['resize']['size']} (height, width), RGB, as "
            "uint8: the graph normalizes inside (`preprocessing.embedded` is true)."
        )
    else:
        feeding = (
            f"{pre['resize']['method']} to {pre['resize']['size']} (height, width), RGB, "
            f"multiply by {pre['scale']:.6g}, subtract mean {pre['mean']} and divide by std "
            f"{pre['std']} per channel."
        )
    packaging = _packaging(metadata)
    wrappers = packaging.elsewhere.format(model_file=metadata["model_file"])
    size_note = ""
    if optimization.get("method"):
        size_note = (
            f" Optimized with {optimization['method']}: {optimization['exported_size_bytes']} "
            f"bytes, {optimization['size_ratio']:.2f}x the float32 model."
        )
    return f"""# {metadata["model_name"]} ({metadata["framework"]}, {metadata["task_type"]})

Exported to {fmt.upper()} (`{metadata["model_file"]}`, opset {opts.get("opset")},
quantization: {opts.get("quantization") or "none (float32)"}), {metadata["num_classes"]} classes
(`labels.txt`, one per line, in class-id order).{size_note}

## Run it

    pip install {packaging.pip}
    python {sample} path/to/image.jpg

or from Python (for ONNX; `{sample}` shows the runner TorchScript and OpenVINO need):

    from vap_runtime import Model
    model = Model(".")              # the folder holding metadata.json
    result = model.predict("image.jpg", top_k=5, confidence=0.25)

`predict` accepts a path, a PIL image or an RGB uint8 numpy array (H, W, 3) and returns
`{{"image_id", "width", "height", "classes": [...], "instances": [...]}}`: classification
fills `classes` (class_id, class_name, confidence; best first), detection fills
`instances` (class_id, class_name, confidence, bbox = [x, y, width, height] in pixels of
the original image).

## The model without the wrapper

Input `{inp["name"]}`: {inp["dtype"]} {inp["layout"]} of shape {inp["shape"]} (the first
dimension is the batch). Preprocessing, as in training: {feeding} `metadata.json` holds
the output layout and postprocessing (`postprocessing`), and the file's sha256.
{wrappers}

Median latency of one image on the export machine ({latency.get("runtime", "?")}):
{latency.get("median_ms", "?")} ms. Your hardware will differ.
"""


def _write_common(z: zipfile.ZipFile, result: ExportResult, sample: str) -> None:
    metadata = result.metadata
    values = template_values(metadata)
    for path in result.files:
        z.write(path, arcname=path.name)
    z.writestr("labels.txt", "\n".join(metadata["class_names"]) + "\n")
    z.write(RUNTIME, arcname="vap_runtime.py")
    z.writestr(sample, fill("python/predict.py.template", values))
    z.writestr("README.md", readme(metadata, sample))
    if _packaging(metadata).native_wrappers:
        for template, name in WRAPPERS:
            z.writestr(name, fill(template, values))


def _open_zip(out_zip: Path) -> zipfile.ZipFile:
    out_zip = Path(out_zip)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    return zipfile.ZipFile(out_zip, "w", compression=zipfile.ZIP_DEFLATED)


def build_package(result: ExportResult, out_zip: Path) -> Path:
    """Write the download package zip at `out_zip` (its parent created); return its path."""
    with _open_zip(out_zip) as z:
        _write_common(z, result, "example.py")
    return Path(out_zip)


def build_edge_package(result: ExportResult, out_zip: Path) -> Path:
    """Write the edge package zip: the model, metadata.json, labels.txt, vap_runtime.py,
    predict.py (a runnable Python sample) and, where the format has them (ONNX),
    C++/Swift/Kotlin templates."""
    with _open_zip(out_zip) as z:
        _write_common(z, result, "predict.py")
    return Path(out_zip)


# --- the Triton container bundle --------------------------------------------------------


def _dims(shape: list[Any]) -> list[int]:
    return [d if isinstance(d, int) and d > 0 else -1 for d in shape]


def triton_io(metadata: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """Triton's inputs and outputs ({name, data_type, dims}) and max_batch_size.

    With a dynamic batch the batch dimension leaves `dims` (Triton adds it, up to
    TRITON_MAX_BATCH); without, max_batch_size is 0 and dims are the full shape. The
    PyTorch backend addresses tensors by position: INPUT__0, OUTPUT__0, OUTPUT__1, ..."""
    dynamic = bool(metadata["export_options"].get("dynamic_batch"))
    positional = _packaging(metadata).triton_positional_io

    def spec(arg: dict[str, Any], name: str) -> dict[str, Any]:
        shape = list(arg["shape"])
        return {
            "name": name,
            "data_type": _TRITON_DTYPES[arg["dtype"]],
            "dims": _dims(shape[1:] if dynamic else shape),
        }

    inputs = [
        spec(a, f"INPUT__{i}" if positional else a["name"])
        for i, a in enumerate(metadata["inputs"])
    ]
    outputs = [
        spec(a, f"OUTPUT__{i}" if positional else a["name"])
        for i, a in enumerate(metadata["outputs"])
    ]
    return inputs, outputs, TRITON_MAX_BATCH if dynamic else 0


def triton_config(metadata: dict[str, Any]) -> str:
    """config.pbtxt for the export (protobuf text format)."""
    backend_line = _triton_backend(metadata["export_format"])
    inputs, outputs, max_batch = triton_io(metadata)

    def tensors(kind: str, specs: list[dict[str, Any]]) -> str:
        body = ",\n".join(
            f'  {{\n    name: "{s["name"]}"\n    data_type: {s["data_type"]}\n'
            f"    dims: [ {', '.join(str(d) for d in s['dims'])} ]\n  }}"
            for s in specs
        )
        return f"{kind} [\n{body}\n]\n"

    lines = [
        f'name: "{triton_name(metadata)}"\n',
        f"{backend_line}\n",
        f"max_batch_size: {max_batch}\n",
        tensors("input", inputs),
        tensors("output", outputs),
        "instance_group [ { kind: KIND_AUTO, count: 1 } ]\n",
    ]
    if max_batch:
        lines.append("dynamic_batching { }\n")
    return "".join(lines)


def _triton_backend(fmt: str) -> str:
    backend = format_spec(fmt).packaging.triton_backend
    if backend is None:
        raise ValueError(f"no Triton backend for {fmt} exports")
    return backend


def build_container_bundle(result: ExportResult, out_zip: Path) -> Path:
    """Write the Triton bundle zip: Dockerfile, build.sh, README.md, metadata.json,
    labels.txt and model_repository/<name>/{config.pbtxt, 1/<model files>}.

    Raises ValueError for a format Triton has no backend for."""
    metadata = result.metadata
    fmt = result.fmt
    backend_line = _triton_backend(fmt)
    model_name = "model" + result.model_file.suffix
    name = triton_name(metadata)
    inputs, outputs, max_batch = triton_io(metadata)
    values = template_values(metadata) | {
        "BACKEND": backend_line.split('"')[1],
        "IMAGE_NAME": f"vap-{name.lower()}-triton",
        "TRITON_NAME": name,
        "TRITON_VERSION": TRITON_VERSION,
        "TRITON_MODEL_FILE": model_name,
        "TRITON_INPUT": inputs[0]["name"],
        "TRITON_OUTPUT": outputs[0]["name"],
        "INPUT_DTYPE": metadata["input"]["dtype"],
        "INPUT_TRITON_DTYPE": inputs[0]["data_type"].removeprefix("TYPE_"),
        "INPUT_EXAMPLE_SHAPE": str([1, *inputs[0]["dims"]] if max_batch else inputs[0]["dims"]),
        "IO_TABLE": "\n".join(
            f"- {kind} `{s['name']}`: {s['data_type']} dims {s['dims']}"
            for kind, specs in (("input", inputs), ("output", outputs))
            for s in specs
        ),
        "BATCH_NOTE": (
            f"Dynamic batch: Triton batches requests up to {max_batch} (dims exclude it)."
            if max_batch
            else "Fixed batch (exported without a dynamic batch): dims are the full shape."
        ),
    }
    version = f"model_repository/{name}/1"
    # Triton's backends look for model.<suffix> (OpenVINO: model.xml beside model.bin).
    renamed = {p.name: "model" + p.suffix for p in result.files if p != result.metadata_file}
    with _open_zip(out_zip) as z:
        z.writestr(f"model_repository/{name}/config.pbtxt", triton_config(metadata))
        for path in result.files:
            if path.name in renamed:
                z.write(path, arcname=f"{version}/{renamed[path.name]}")
        z.write(result.metadata_file, arcname="metadata.json")
        z.writestr("labels.txt", "\n".join(metadata["class_names"]) + "\n")
        z.writestr("Dockerfile", fill("triton/Dockerfile", values))
        info = zipfile.ZipInfo("build.sh")
        info.external_attr = 0o755 << 16  # executable once unpacked
        z.writestr(info, fill("triton/build.sh", values))
        z.writestr("README.md", fill("triton/README.md", values))
    return Path(out_zip)
