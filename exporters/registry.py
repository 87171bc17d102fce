"""Where export sources and formats are found, and the one `export()` entry point.

A *source* turns a framework's checkpoint into a `SourceModel` (a torch module plus what
a deployment needs to feed and read it); a *format* writes a `SourceModel` to a file.
A framework names its source in its facts (contract/frameworks/<framework>.py,
`export_source`); a format is a module in exporters/formats/ defining `FORMAT`
(exporters/format_spec.py), found by `format_spec`. Adding either is adding modules,
never editing a switch. This module imports no framework; `export()` imports the one
source it needs when called.

ONNX is the platform's reference graph (exporters/formats/onnx.py): quantization, FP16
and embedded preprocessing are rewrites of it, and metadata.json describes every
format's inputs and outputs from it.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contract import frameworks

if TYPE_CHECKING:
    from exporters.format_spec import FormatSpec

QUANTIZATIONS = (None, "dynamic_int8", "static_int8", "fp16")

REFERENCE_DIR = ".reference"  # scratch folder in out_dir for the ONNX a format is made from


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
    embed_preprocessing: bool = False
    calibration_images: tuple[Path, ...] = ()


@dataclass
class WrittenModel:
    """What a format writer made. `files` are all the files a package must hold (the
    model file first); `reference_onnx` is the float32 NCHW ONNX graph equivalent to the
    model, from which metadata.json describes inputs and outputs (None: the model file
    is that graph); `optimization` describes a quantization or FP16 conversion."""

    model_file: Path
    files: list[Path]
    reference_onnx: Path | None = None
    optimization: dict[str, Any] | None = None
    preprocessing_embedded: bool = False


@dataclass
class ExportResult:
    model_file: Path
    metadata_file: Path
    metadata: dict[str, Any]
    files: list[Path]  # every file a package must hold: model (and its data), metadata
    size_bytes: int  # of the model file (for OpenVINO: the .xml and its .bin weights)
    fmt: str
    framework: str


SourceLoader = Callable[[Path], SourceModel]


def source_loader(framework: str) -> SourceLoader:
    """The function turning `framework`'s checkpoints into a SourceModel, as its facts
    name it (importing its module). ValueError for a framework no facts describe."""
    facts = frameworks.find(framework)
    if facts is None:
        raise ValueError(
            f"no exporter for framework {framework!r}; known: {sorted(frameworks.names())}"
        )
    loader: SourceLoader = frameworks.entry_point(facts.export_source)
    return loader


@cache
def formats() -> dict[str, FormatSpec]:
    """Every format export() implements, by name: the `FORMAT` of each module in
    exporters/formats/ (cheap: those modules import their runtimes only when used)."""
    import exporters.formats as package

    specs = [
        importlib.import_module(f"{package.__name__}.{m.name}").FORMAT
        for m in pkgutil.iter_modules(package.__path__)
    ]
    return {s.name: s for s in sorted(specs, key=lambda s: (s.facts.rank, s.name))}


def format_spec(fmt: str) -> FormatSpec:
    """The spec of format `fmt`; ValueError when export() does not implement it."""
    try:
        return formats()[fmt]
    except KeyError:
        raise ValueError(f"no exporter for format {fmt!r}; known: {sorted(formats())}") from None


def _check(fmt: str, options: ExportOptions) -> None:
    facts = format_spec(fmt).facts
    if options.quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, not {options.quantize!r}")
    if options.quantize not in facts.quantizations:
        accepted = [q for q in facts.quantizations if q]
        raise ValueError(
            f"{fmt} export does not support quantize={options.quantize!r}; "
            f"it supports {accepted or 'no quantization'}"
        )
    if options.quantize == "static_int8" and not options.calibration_images:
        raise ValueError("quantize='static_int8' needs calibration_images (a few hundred)")
    if options.embed_preprocessing and not facts.embed_preprocessing:
        raise ValueError(f"embed_preprocessing is only supported for ONNX, not {fmt}")
    if options.embed_preprocessing and not runtime_reads_embedded_preprocessing():
        raise ValueError(
            "embed_preprocessing is not available yet: vap_runtime, which every package "
            "ships, does not feed uint8 NHWC images to a graph with the preprocessing inside"
        )


def runtime_reads_embedded_preprocessing() -> bool:
    """Whether vap_runtime honours metadata.json's `preprocessing.embedded`: it then
    resizes as usual and feeds the uint8 RGB pixels as a (1, H, W, 3) batch, without
    scale, mean, std or the NCHW transpose. It says so with EMBEDDED_PREPROCESSING = True."""
    try:
        from vap_runtime import model
    except ImportError:
        return False
    return bool(getattr(model, "EMBEDDED_PREPROCESSING", False))


def export(
    checkpoint: Path,
    framework: str,
    fmt: str,
    out_dir: Path,
    *,
    opset: int = 17,
    dynamic_batch: bool = True,
    embed_preprocessing: bool = False,
    quantize: str | None = None,
    calibration_images: list[Path] | None = None,
    latency_runs: int = 20,
) -> ExportResult:
    """Export `checkpoint` of `framework` to `fmt` under `out_dir` and write
    `metadata.json` beside it (with the model file's sha256, its measured CPU latency and,
    under "optimization", the quantization or FP16 conversion with the size before and
    after).

    `quantize`: None, "dynamic_int8", "static_int8" (calibrated on `calibration_images`,
    preprocessed as the model expects) or "fp16" (inputs and outputs stay float32).
    `embed_preprocessing` (ONNX only): the graph takes uint8 NHWC RGB images at the model's
    size and normalizes inside; metadata.json then says `preprocessing.embedded: true`.

    Raises ValueError for an unknown framework, format or quantization, a combination the
    format does not support, or a checkpoint the framework's loader does not recognise.
    """
    from exporters.metadata import build_metadata, write_metadata
    from exporters.predictor import measure_latency_ms, runner_for

    load_source = source_loader(framework)
    spec = format_spec(fmt)
    options = ExportOptions(
        opset=opset,
        dynamic_batch=dynamic_batch,
        quantize=quantize,
        embed_preprocessing=embed_preprocessing,
        calibration_images=tuple(Path(p) for p in calibration_images or ()),
    )
    _check(fmt, options)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = load_source(Path(checkpoint))
    written = spec.write(source, out_dir, options)
    try:
        reference = written.reference_onnx or written.model_file
        metadata = build_metadata(source, fmt, reference, options)
        if reference != written.model_file:
            _describe_model_file(metadata, source, spec, written)
        # Measured on the model file itself, whatever its format, through the runner
        # that validation and packages use.
        runner = runner_for(written.model_file.parent, metadata)
        metadata["latency"] = measure_latency_ms(runner, metadata, latency_runs)
        metadata["optimization"] = _optimization(written, reference)
    finally:
        if written.reference_onnx is not None:
            written.reference_onnx.unlink(missing_ok=True)
        shutil.rmtree(out_dir / REFERENCE_DIR, ignore_errors=True)
    metadata_file = write_metadata(metadata, out_dir)
    return ExportResult(
        model_file=written.model_file,
        metadata_file=metadata_file,
        metadata=metadata,
        files=[*written.files, metadata_file],
        size_bytes=sum(p.stat().st_size for p in written.files),
        fmt=fmt,
        framework=framework,
    )


def _describe_model_file(
    metadata: dict[str, Any],
    source: SourceModel,
    format_: FormatSpec,
    written: WrittenModel,
) -> None:
    """Metadata was built from the reference ONNX graph: make the file fields and the
    input (when preprocessing is embedded) those of the model file itself."""
    from contract.checksums import sha256_of

    model_file = written.model_file
    metadata["model_file"] = model_file.name
    metadata["sha256"] = sha256_of(model_file)
    metadata["size_bytes"] = sum(p.stat().st_size for p in written.files)
    if len(written.files) > 1:
        metadata["model_files"] = [p.name for p in written.files]
    if not format_.opset_applies:
        metadata["export_options"]["opset"] = None
    if written.preprocessing_embedded:
        size = source.image_size
        spec = {
            "name": metadata["input"]["name"],
            "shape": [metadata["input"]["shape"][0], size, size, 3],
            "dtype": "uint8",
            "layout": "NHWC",
        }
        metadata["inputs"] = [spec]
        metadata["input"] = spec
        metadata["preprocessing"] = {**metadata["preprocessing"], "embedded": True}


def _optimization(written: WrittenModel, reference: Path) -> dict[str, Any]:
    """The method and the model's size before (float32 ONNX) and after."""
    exported = sum(p.stat().st_size for p in written.files)
    info = dict(written.optimization or {"method": None})
    original = info.pop("original_size_bytes", None) or reference.stat().st_size
    info.update(
        original_size_bytes=original,
        exported_size_bytes=exported,
        size_ratio=round(exported / original, 4),
    )
    return info
