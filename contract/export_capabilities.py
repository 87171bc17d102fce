"""What an environment can export, per framework and format, given what it has
installed and whether it has an NVIDIA GPU: the facts, and the rule that reads them.

The rule is pure: a worker applies it to its own environment
(functions/capabilities.py) and reports the table; the API only reads reported tables.
`supported` is claimed only for what exporters.registry.export() really implements
(tests/test_export_formats.py exports every supported pair of timm to prove it).
Routes: "native" is written from the framework's torch model itself, "via_onnx" is
converted from our ONNX export.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FRAMEWORKS = ("timm", "ultralytics", "transformers")
FORMATS = ("onnx", "torchscript", "openvino", "tflite", "coreml", "tensorrt")
QUANTIZATIONS = ("dynamic_int8", "static_int8", "fp16")

# (framework, format) pairs export() implements, and how. Keep in step with the formats
# registered in exporters/ (onnx_export, torchscript_export, openvino_export): every
# source there is a traceable torch module, so every format works for every framework.
IMPLEMENTED: dict[tuple[str, str], str] = {
    **{(fw, "onnx"): "native" for fw in FRAMEWORKS},
    **{(fw, "torchscript"): "native" for fw in FRAMEWORKS},
    **{(fw, "openvino"): "via_onnx" for fw in FRAMEWORKS},
}
# What each format needs installed (import names), beyond the framework itself.
REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "onnx": ("onnx", "onnxruntime", "onnxscript"),
    "torchscript": (),
    "openvino": ("onnx", "onnxruntime", "onnxscript", "openvino"),
    "tflite": ("litert_torch", "ai_edge_litert"),
    "coreml": ("coremltools",),
    "tensorrt": ("tensorrt",),
}
# What each quantization of the ONNX export needs (exporters/quantize.py).
QUANTIZATION_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "dynamic_int8": ("onnx", "onnxruntime"),
    "static_int8": ("onnx", "onnxruntime"),
    "fp16": ("onnx", "onnxruntime"),
}
# Why a format export() does not implement is not offered, and what it would take.
NOT_IMPLEMENTED: dict[str, str] = {
    "tflite": (
        "TFLite export is not implemented here: it needs litert-torch and ai-edge-litert "
        "(~830 MB with jaxlib), which downgrade pydantic to 2.11 and typing_extensions, "
        "so they belong in a separate worker image, never the API's environment"
    ),
    "coreml": (
        "Core ML export is not implemented here: it needs coremltools>=9 with numpy<=2.3.5, "
        "and a Core ML model can only be run (validated) on macOS"
    ),
    "tensorrt": (
        "TensorRT engines are built from the ONNX export on the NVIDIA GPU that will serve "
        "them (trtexec --onnx=model.onnx, or Triton's onnxruntime backend with the "
        "TensorRT execution provider); export() does not build them"
    ),
}
FRAMEWORK_PACKAGES = {"timm": "timm", "ultralytics": "ultralytics", "transformers": "transformers"}
# Every framework trains and exports with torch.
FRAMEWORK_REQUIREMENTS = ("torch", "torchvision")

Installed = Callable[[str], bool]


def _unsupported(reason: str) -> dict[str, Any]:
    return {"supported": False, "route": None, "reason": reason}


def framework_support(framework: str, installed: Installed) -> dict[str, Any]:
    """Whether an environment can train and run `framework`'s models."""
    missing = [m for m in (*FRAMEWORK_REQUIREMENTS, FRAMEWORK_PACKAGES[framework])
               if not installed(m)]  # fmt: skip
    if missing:
        return _unsupported(f"{', '.join(missing)} not installed (pip install the worker extra)")
    return {"supported": True, "route": None, "reason": None}


def format_support(
    framework: str, fmt: str, installed: Installed, gpu: bool, system: str
) -> dict[str, Any]:
    """Whether `fmt` export of `framework` models works in an environment with these
    packages, GPU and operating system (platform.system()); a refusal says why."""
    if not installed(FRAMEWORK_PACKAGES[framework]):
        return _unsupported(f"{FRAMEWORK_PACKAGES[framework]} not installed")
    if fmt == "tensorrt" and not gpu:
        return _unsupported(
            "TensorRT needs an NVIDIA GPU, and none is present on this machine "
            "(the route is via ONNX: export ONNX here, build the engine on the GPU)"
        )
    route = IMPLEMENTED.get((framework, fmt))
    if route is None:
        reason = NOT_IMPLEMENTED.get(fmt, f"{fmt} export of {framework} models is not implemented")
        return _unsupported(reason)
    missing = [m for m in REQUIREMENTS[fmt] if not installed(m)]
    if missing:
        return _unsupported(f"{', '.join(missing)} not installed (pip install the worker extra)")
    cap: dict[str, Any] = {"supported": True, "route": route, "reason": None}
    if fmt == "coreml" and system != "Darwin":
        cap["reason"] = "exported, not validated here: Core ML models only run on macOS"
    return cap


def quantization_support(name: str, installed: Installed) -> dict[str, Any]:
    missing = [m for m in QUANTIZATION_REQUIREMENTS[name] if not installed(m)]
    if missing:
        return _unsupported(f"{', '.join(missing)} not installed (pip install the worker extra)")
    return {"supported": True, "route": None, "reason": None}


def export_table(
    installed: Installed, gpu: bool, system: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """{framework: {format: {supported, route ("native" | "via_onnx" | None), reason}}}.
    Unsupported entries always say why in `reason`."""
    return {
        fw: {fmt: format_support(fw, fmt, installed, gpu, system) for fmt in FORMATS}
        for fw in FRAMEWORKS
    }
