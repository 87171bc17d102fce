"""What this installation can export, per framework and format: data the API shows.

Cheap on purpose (the API calls it per request): packages are looked up with
importlib.util.find_spec, never imported, and the GPU by its device node or nvidia-smi.
`supported` is claimed only for what exporters.registry.export() really implements.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
from typing import Any

FRAMEWORKS = ("timm", "ultralytics", "transformers")
FORMATS = ("onnx", "torchscript", "openvino", "tflite", "coreml", "tensorrt")

# (framework, format) pairs export() implements, and how. Keep in step with the
# sources and formats registered in exporters/onnx_export.py.
IMPLEMENTED: dict[tuple[str, str], str] = {
    ("timm", "onnx"): "native",
}
# What each format needs installed (import names), beyond the framework itself.
REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "onnx": ("onnx", "onnxruntime", "onnxscript"),
    "torchscript": (),
    "openvino": ("openvino",),
    "tflite": ("litert",),
    "coreml": ("coremltools",),
    "tensorrt": ("tensorrt",),
}
FRAMEWORK_PACKAGES = {"timm": "timm", "ultralytics": "ultralytics", "transformers": "transformers"}


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def nvidia_gpu_present() -> bool:
    return os.path.exists("/dev/nvidia0") or shutil.which("nvidia-smi") is not None


def _unsupported(reason: str) -> dict[str, Any]:
    return {"supported": False, "route": None, "reason": reason}


def _environment_reason(fmt: str) -> str | None:
    """Why this machine cannot produce `fmt` at all, or None."""
    missing = [m for m in REQUIREMENTS[fmt] if not installed(m)]
    if fmt == "tensorrt" and not nvidia_gpu_present():
        return "TensorRT needs an NVIDIA GPU, and none is present on this machine" + (
            f" (and {', '.join(missing)} is not installed)" if missing else ""
        )
    if missing:
        return f"{', '.join(missing)} not installed"
    return None


def _capability(framework: str, fmt: str) -> dict[str, Any]:
    if not installed(FRAMEWORK_PACKAGES[framework]):
        return _unsupported(f"{FRAMEWORK_PACKAGES[framework]} not installed")
    reason = _environment_reason(fmt)
    if reason is not None:
        return _unsupported(reason)
    route = IMPLEMENTED.get((framework, fmt))
    if route is None:
        return _unsupported(f"{fmt} export of {framework} models is not implemented yet")
    cap: dict[str, Any] = {"supported": True, "route": route, "reason": None}
    if fmt == "coreml" and platform.system() != "Darwin":
        cap["reason"] = "exported, not validated here: Core ML models only run on macOS"
    return cap


def capabilities() -> dict[str, dict[str, dict[str, Any]]]:
    """{framework: {format: {supported, route ("native" | "via_onnx" | None), reason}}}."""
    return {fw: {fmt: _capability(fw, fmt) for fmt in FORMATS} for fw in FRAMEWORKS}
