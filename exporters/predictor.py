"""Predict with any model export() wrote, through the very code a deployment runs.

`load(out_dir)` is a `vap_runtime.Model`: for ONNX the runtime's own ONNX Runtime session;
for the other formats their *runner* (exporters/formats/<name>.py: float32 NCHW batch in,
the outputs in metadata order out) replaces that session, so pre- and post-processing are
the same code for every format and a validation of the export measures the model file
alone.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from exporters.format_spec import FormatSpec, Runner
from exporters.registry import format_spec

METADATA_FILE = "metadata.json"


def load(out_dir: Path) -> Any:
    """A `vap_runtime.Model` for the export in `out_dir` (the folder holding metadata.json).

    Raises ValueError when the folder holds a format this module cannot run."""
    from vap_runtime import Model

    out_dir = Path(out_dir)
    metadata = json.loads((out_dir / METADATA_FILE).read_text())
    if _spec(metadata).vap_runtime_runs_it:
        return Model(out_dir)
    return Model(out_dir, runner=runner_for(out_dir, metadata))


def runner_for(out_dir: Path, metadata: dict[str, Any]) -> Runner:
    """A callable running the model file named in `metadata` on a batch shaped and typed
    as metadata["input"] says; its outputs as numpy arrays, in metadata order."""
    return _spec(metadata).runner(Path(out_dir) / metadata["model_file"])


def _spec(metadata: dict[str, Any]) -> FormatSpec:
    fmt = metadata["export_format"]
    try:
        return format_spec(fmt)
    except ValueError:
        raise ValueError(f"no runner for {fmt!r} exports") from None


def example_input(metadata: dict[str, Any], batch: int = 1) -> np.ndarray:
    """A random batch as the model's input expects it (dtype, layout, size)."""
    spec = metadata["input"]
    shape = [batch, *(int(d) for d in spec["shape"][1:])]
    rng = np.random.default_rng(0)
    if spec["dtype"] == "uint8":
        return rng.integers(0, 256, shape, dtype=np.uint8)
    return rng.standard_normal(shape, dtype=np.float32)


def measure_latency_ms(runner: Runner, metadata: dict[str, Any], runs: int = 20) -> dict[str, Any]:
    """Median (and p90) wall time of `runs` single-image inferences after two warm-ups:
    metadata.json's `latency`."""
    x = example_input(metadata)
    for _ in range(2):
        runner(x)
    times = []
    for _ in range(max(1, runs)):
        began = time.perf_counter()
        runner(x)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return {
        "batch_size": 1,
        "runs": len(times),
        "median_ms": round(statistics.median(times), 3),
        "p90_ms": round(times[int(0.9 * (len(times) - 1))], 3),
        "runtime": _spec(metadata).runtime(),
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}",
    }
