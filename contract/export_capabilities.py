"""What an environment can export, per framework and format, given what it has
installed and whether it has an NVIDIA GPU: the rule, reading each format's facts
(contract/export_formats/) and frameworks' (contract/frameworks/), and the quantizations'
below.

The rule is pure: a worker applies it to its own environment
(functions/capabilities.py) and reports the table; the API only reads reported tables.
`supported` is claimed only for a format with a route, which exporters/formats/ must
implement (tests/test_export_format_plugins.py checks both sides name the same formats,
tests/test_export_formats.py exports every supported pair of timm to prove it).
Routes: "native" is written from the framework's torch model itself, "via_onnx" is
converted from our ONNX export.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contract import frameworks
from contract.export_formats import facts_of, names

FRAMEWORKS = frameworks.names()
QUANTIZATIONS = ("dynamic_int8", "static_int8", "fp16")

# What each quantization of the ONNX export needs (exporters/quantize.py).
QUANTIZATION_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "dynamic_int8": ("onnx", "onnxruntime"),
    "static_int8": ("onnx", "onnxruntime"),
    "fp16": ("onnx", "onnxruntime"),
}
# The package each framework needs, from its facts (contract/frameworks/).
FRAMEWORK_PACKAGES = {f.name: f.package for f in frameworks.all_frameworks().values()}
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
    packages, GPU and operating system (platform.system()); a refusal says why. What a
    format needs and how export() makes it are its facts (contract/export_formats/);
    every source there is a traceable torch module, so a format's route holds for every
    framework."""
    if not installed(FRAMEWORK_PACKAGES[framework]):
        return _unsupported(f"{FRAMEWORK_PACKAGES[framework]} not installed")
    facts = facts_of(fmt)
    if facts.needs_nvidia_gpu and not gpu:
        return _unsupported(facts.needs_nvidia_gpu)
    if facts.route is None:
        return _unsupported(
            facts.not_implemented or f"{fmt} export of {framework} models is not implemented"
        )
    missing = [m for m in facts.requires if not installed(m)]
    if missing:
        return _unsupported(f"{', '.join(missing)} not installed (pip install the worker extra)")
    cap: dict[str, Any] = {"supported": True, "route": facts.route, "reason": None}
    if facts.validated_on and system != facts.validated_on[0]:
        cap["reason"] = facts.validated_on[1]
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
        fw: {fmt: format_support(fw, fmt, installed, gpu, system) for fmt in names()}
        for fw in FRAMEWORKS
    }
