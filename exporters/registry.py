"""Where export sources and formats announce themselves, and the one `export()` entry point.

A *source* turns a framework's checkpoint into a `SourceModel` (a torch module plus what
a deployment needs to feed and read it); a *format* writes a `SourceModel` to a file.
Adding a framework or a format is adding one decorated function, never editing a switch.
This module imports no framework: the API imports it cheaply; `export()` loads the
modules that register sources and formats only when called.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

QUANTIZATIONS = (None, "dynamic_int8")

# Modules whose import registers sources and formats (imported on the first export).
_PLUGIN_MODULES = ("exporters.onnx_export",)


@dataclass
class SourceModel:
    """A checkpoint made ready to export: an eval-mode torch module taking "images"
    (float32 NCHW, normalized) and everything the deployment side must know."""

    framework: str
    model_name: str
    task_type: str
    class_names: list[str]
    image_size: int
    preprocessing: dict[str, Any]
    postprocessing: dict[str, Any]
    output_names: list[str]
    module: Any = None  # torch.nn.Module; None when the format exports the checkpoint itself
    checkpoint: Path | None = None
    # A format may export natively (e.g. Ultralytics' own ONNX exporter) instead of
    # tracing `module`: name -> callable(source, out_dir, options) -> model file.
    native: dict[str, Callable[..., Path]] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportOptions:
    opset: int = 17
    dynamic_batch: bool = True
    quantize: str | None = None


@dataclass
class ExportResult:
    model_file: Path
    metadata_file: Path
    metadata: dict[str, Any]
    files: list[Path]  # every file a package must hold: model (and its data), metadata
    size_bytes: int  # of the model file
    fmt: str
    framework: str


SourceLoader = Callable[[Path], SourceModel]
FormatWriter = Callable[[SourceModel, Path, ExportOptions], Path]

_SOURCES: dict[str, SourceLoader] = {}
_FORMATS: dict[str, FormatWriter] = {}


def register_source(framework: str) -> Callable[[SourceLoader], SourceLoader]:
    def wrap(fn: SourceLoader) -> SourceLoader:
        _SOURCES[framework] = fn
        return fn

    return wrap


def register_format(fmt: str) -> Callable[[FormatWriter], FormatWriter]:
    def wrap(fn: FormatWriter) -> FormatWriter:
        _FORMATS[fmt] = fn
        return fn

    return wrap


def _load_plugins() -> None:
    for name in _PLUGIN_MODULES:
        importlib.import_module(name)


def implemented() -> dict[str, list[str]]:
    """Frameworks and formats export() really implements (imports the plugins)."""
    _load_plugins()
    return {"frameworks": sorted(_SOURCES), "formats": sorted(_FORMATS)}


def export(
    checkpoint: Path,
    framework: str,
    fmt: str,
    out_dir: Path,
    *,
    opset: int = 17,
    dynamic_batch: bool = True,
    quantize: str | None = None,
    latency_runs: int = 20,
) -> ExportResult:
    """Export `checkpoint` of `framework` to `fmt` under `out_dir` and write
    `metadata.json` beside it (with the model file's sha256 and its measured CPU latency).

    Raises ValueError for an unknown framework, format or quantization, or a checkpoint
    the framework's loader does not recognise.
    """
    from exporters.metadata import build_metadata, write_metadata

    _load_plugins()
    if framework not in _SOURCES:
        raise ValueError(f"no exporter for framework {framework!r}; known: {sorted(_SOURCES)}")
    if fmt not in _FORMATS:
        raise ValueError(f"no exporter for format {fmt!r}; known: {sorted(_FORMATS)}")
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}")
    options = ExportOptions(opset=opset, dynamic_batch=dynamic_batch, quantize=quantize)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = _SOURCES[framework](Path(checkpoint))
    model_file = _FORMATS[fmt](source, out_dir, options)
    metadata = build_metadata(source, fmt, model_file, options, latency_runs=latency_runs)
    metadata_file = write_metadata(metadata, out_dir)
    return ExportResult(
        model_file=model_file,
        metadata_file=metadata_file,
        metadata=metadata,
        files=[model_file, metadata_file],
        size_bytes=model_file.stat().st_size,
        fmt=fmt,
        framework=framework,
    )
