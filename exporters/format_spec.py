"""What an export format module (exporters/formats/<name>.py) provides: `FORMAT`, a
`FormatSpec`. Its facts (name, requirements, quantizations) are contract's
(contract/export_formats/<name>.py), readable where no torch is; the spec adds what only
a worker can do with them: write the file, run it, package it.

A format module imports nothing heavy at its top level (torch, openvino and numpy are
imported inside its functions), so listing the formats or building a package is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contract.export_formats import FormatFacts

if TYPE_CHECKING:
    from exporters.registry import ExportOptions, SourceModel, WrittenModel

# Float32 NCHW batch in, the outputs (numpy arrays) in metadata order out.
Runner = Callable[[Any], Sequence[Any]]


@dataclass(frozen=True)
class Packaging:
    """How a package of the format is made (exporters/package.py).

    `pip`: what the package's Python sample needs installed. `sample_runner`: source of
    the sample's `runner(metadata, model_file)` (None: vap_runtime's own ONNX Runtime
    session runs the file). `elsewhere`: the README's sentence on loading the file outside
    Python. `native_wrappers`: whether the C++/Swift/Kotlin templates (ONNX Runtime APIs)
    ship. `triton_backend`: config.pbtxt's backend line (None: Triton cannot serve it);
    `triton_positional_io`: the backend names tensors INPUT__0, OUTPUT__0, ... (libtorch).
    """

    pip: str
    elsewhere: str
    sample_runner: str | None = None
    native_wrappers: bool = False
    triton_backend: str | None = None
    triton_positional_io: bool = False


@dataclass(frozen=True)
class FormatSpec:
    """One export format, as the worker side knows it.

    `write(source, out_dir, options)` makes the model files in `out_dir` (quantizations and
    preprocessing embedding already checked against `facts`). `runner(model_file)` runs a
    file of the format for validation, latency and `predictor.load`; `runtime()` names
    that runtime for metadata.json. `vap_runtime_runs_it`: vap_runtime.Model runs the file
    itself, with no runner. `opset_applies`: metadata's ONNX opset describes the file (it
    is, or was converted from, ONNX)."""

    facts: FormatFacts
    write: Callable[[SourceModel, Path, ExportOptions], WrittenModel]
    runner: Callable[[Path], Runner]
    runtime: Callable[[], str]
    packaging: Packaging
    vap_runtime_runs_it: bool = False
    opset_applies: bool = True

    @property
    def name(self) -> str:
        return self.facts.name
