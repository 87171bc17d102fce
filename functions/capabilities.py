"""This worker environment's own capabilities: `python -m functions capabilities`
prints them as JSON (contract/capabilities.py's WorkerCapabilities).

Every runner asks its workers this way (the local runner in its worker interpreter,
Docker in the worker image, Modal in the deployed app) and the API stores the answer.
Cheap on purpose: packages are looked up with importlib.util.find_spec and their
versions read from their metadata, never imported; GPUs are listed by nvidia-smi.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from typing import Any

from contract import frameworks
from contract.capabilities import GpuInfo, WorkerCapabilities
from contract.export_capabilities import (
    FRAMEWORKS,
    QUANTIZATIONS,
    export_table,
    framework_support,
    quantization_support,
)
from contract.jobs import CONTRACT_VERSION

# Distributions whose versions the table shows (as pip names them); each framework's
# comes from its facts (contract/frameworks/).
VERSIONED = (
    "torch", "torchvision",
    *(f.distribution or f.package for f in frameworks.all_frameworks().values()),
    "onnx", "onnxruntime", "onnxruntime-gpu", "onnxscript", "openvino", "tensorrt",
    "coremltools", "numpy",
)  # fmt: skip


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def gpu_devices() -> list[str]:
    """The NVIDIA GPUs this process can use, by name; empty when there are none."""
    if shutil.which("nvidia-smi") is not None:
        try:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                capture_output=True, text=True, timeout=20, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            out = None
        if out is not None and out.returncode == 0:
            return [line.strip() for line in out.stdout.splitlines() if line.strip()]
    # No nvidia-smi (a slim image): the device nodes still say how many there are.
    nodes = [n for n in os.listdir("/dev") if n.startswith("nvidia") and n[6:].isdigit()]
    return ["NVIDIA GPU"] * len(nodes) if os.path.isdir("/dev") else []


def nvidia_gpu_present() -> bool:
    return bool(gpu_devices())


def export_capabilities(gpu: bool | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """{framework: {format: {supported, route, reason}}} here; `gpu`: whether the
    exporting worker has an NVIDIA GPU (None: look at this machine)."""
    has_gpu = nvidia_gpu_present() if gpu is None else gpu
    return export_table(installed, has_gpu, platform.system())


def probe() -> WorkerCapabilities:
    """What this environment can do: frameworks, export formats, quantizations, GPUs."""
    devices = gpu_devices()
    return WorkerCapabilities.model_validate(
        {
            "contract_version": CONTRACT_VERSION,
            "python": platform.python_version(),
            "platform": f"{platform.system().lower()}-{platform.machine()}",
            "versions": {name: version(name) for name in VERSIONED},
            "frameworks": {fw: framework_support(fw, installed) for fw in FRAMEWORKS},
            "export": export_table(installed, bool(devices), platform.system()),
            "quantizations": {q: quantization_support(q, installed) for q in QUANTIZATIONS},
            "gpu": GpuInfo(devices=devices),
        }
    )


def main() -> int:
    sys.stdout.write(probe().model_dump_json() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
