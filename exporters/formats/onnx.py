"""ONNX: the platform's reference graph. Every source's module is traced here, with the
weights inside the one .onnx file (`external_data=False`: a package ships one model
file), the input named "images" and a dynamic batch dimension: opset 18 and above
through torch.onnx's dynamo exporter, older opsets through the TorchScript exporter (see
`_trace`). A source may export natively instead (`source.native["onnx"]`, Ultralytics).

Quantization, FP16 and embedded preprocessing are rewrites of the float32 graph
(`graph`), which the TorchScript and OpenVINO formats also start from: metadata.json
describes every format's inputs and outputs from it.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from contract.export_formats.onnx import FACTS
from exporters.format_spec import FormatSpec, Packaging, Runner
from exporters.registry import ExportOptions, SourceModel, WrittenModel

INPUT_NAME = "images"
MODEL_FILE = "model.onnx"
DYNAMO_MIN_OPSET = 18  # the lowest opset torch.onnx's dynamo exporter writes


def _trace(source: SourceModel, path: Path, options: ExportOptions) -> None:
    """Below opset 18 the dynamo exporter cannot write the model (it exports 18 and its
    down-conversion fails on resnets), so older opsets use the TorchScript exporter."""
    from trainers import offline

    offline.apply()
    import torch
    from torch import nn

    class NamedInput(nn.Module):
        """Wraps a model so the exported graph's input is called "images"."""

        def __init__(self, model: nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return self.model(images)  # type: ignore[no-any-return]

    module = NamedInput(source.module).eval()
    example = torch.zeros(2, 3, source.image_size, source.image_size)
    common: dict[str, Any] = {
        "input_names": [INPUT_NAME],
        "output_names": source.output_names,
        "opset_version": options.opset,
    }
    with torch.no_grad():
        if options.opset >= DYNAMO_MIN_OPSET:
            batch = {INPUT_NAME: {0: torch.export.Dim("batch")}}
            torch.onnx.export(
                module,
                (example,),
                str(path),
                dynamo=True,
                external_data=False,
                dynamic_shapes=batch if options.dynamic_batch else None,
                optimize=True,
                verbose=False,
                **common,
            )
        else:
            names = [INPUT_NAME, *source.output_names]
            torch.onnx.export(
                module,
                (example,),
                str(path),
                dynamo=False,
                dynamic_axes={n: {0: "batch"} for n in names} if options.dynamic_batch else None,
                **common,
            )


def _float_graph(source: SourceModel, out_dir: Path, options: ExportOptions) -> Path:
    """model.onnx in `out_dir`, float32, as the source's native exporter or the tracer
    writes it."""
    target = out_dir / MODEL_FILE
    native = source.native.get("onnx")
    if native is not None:
        shutil.move(native(source, out_dir, options), target)
    else:
        _trace(source, target, options)
    return target


def graph(source: SourceModel, out_dir: Path, options: ExportOptions) -> WrittenModel:
    """The source as model.onnx in `out_dir`, optimized as `options` ask: the float32
    graph, then quantized or converted to FP16 (exporters/quantize.py), then given a uint8
    NHWC input with the normalization inside (exporters/embed_preprocessing.py).
    `reference_onnx` is the float32 graph (kept as model.fp32.onnx) when it differs."""
    from exporters import quantize as q

    out_dir.mkdir(parents=True, exist_ok=True)
    model_file = _float_graph(source, out_dir, replace(options, quantize=None))
    if not options.quantize and not options.embed_preprocessing:
        return WrittenModel(model_file=model_file, files=[model_file])
    fp32 = model_file.with_name("model.fp32.onnx")
    model_file.replace(fp32)
    current = fp32
    optimization = None
    if options.quantize:
        quantized = out_dir / "model.quantized.onnx"
        optimization = q.optimize_onnx(
            fp32, quantized, options.quantize, source, options.calibration_images
        )
        current = quantized
    if options.embed_preprocessing:
        from exporters.embed_preprocessing import embed_preprocessing

        embed_preprocessing(current, model_file, source.preprocessing)
        if current != fp32:
            current.unlink()
    else:
        current.replace(model_file)
    return WrittenModel(
        model_file=model_file,
        files=[model_file],
        reference_onnx=fp32,
        optimization=optimization,
        preprocessing_embedded=options.embed_preprocessing,
    )


def runner(model_file: Path) -> Runner:
    import onnxruntime as ort

    session = ort.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: list(session.run(None, {name: x}))


def runtime() -> str:
    import onnxruntime

    return f"onnxruntime {onnxruntime.__version__} CPUExecutionProvider"


FORMAT = FormatSpec(
    facts=FACTS,
    write=graph,
    runner=runner,
    runtime=runtime,
    vap_runtime_runs_it=True,
    packaging=Packaging(
        pip="onnxruntime numpy pillow",
        elsewhere=(
            "`runtimes/` holds wrapper templates for the same model in C++ (ONNX Runtime C++ "
            "API), Swift (ONNX Runtime Objective-C, iOS/macOS) and Kotlin (ONNX Runtime "
            "Android), filled in with this model's input and preprocessing."
        ),
        native_wrappers=True,
        triton_backend='platform: "onnxruntime_onnx"',
    ),
)
