"""OpenVINO IR (model.xml + model.bin), converted from our ONNX graph, so it has the same
inputs, outputs and (for static INT8) the same calibrated quantization as the ONNX export.

Two traps (docs: ML-NOTES.md): OpenVINO's CPU plugin infers in bf16 by default on CPUs
that have it (max diff ~5e-2), so `compile_for_cpu` asks for f32; and `save_model`
compresses weights to FP16 unless told not to, so float32 is kept explicitly and FP16 is
only what quantize="fp16" asks for. Telemetry is declined before openvino is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exporters.registry import (
    REFERENCE_DIR,
    ExportOptions,
    SourceModel,
    WrittenModel,
    onnx_graph,
    register_format,
)

MODEL_FILE = "model.xml"
WEIGHTS_FILE = "model.bin"
CPU_CONFIG = {"INFERENCE_PRECISION_HINT": "f32"}


def decline_telemetry() -> None:
    """Write "declined" into OpenVINO's consent file (~/intel/openvino_telemetry), as
    `opt_in_out --opt_out` does, but without the opt-out event that command sends."""
    try:
        from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker
    except ImportError:  # no telemetry package: nothing to send with
        return
    checker = OptInChecker()
    if checker.check(enable_opt_in_dialog=False) != ConsentCheckResult.DECLINED:
        checker.update_result(ConsentCheckResult.DECLINED)


decline_telemetry()

import openvino as ov  # noqa: E402


def compile_for_cpu(model_file: Path) -> Any:
    """The IR compiled for the CPU at f32 inference precision."""
    return ov.Core().compile_model(str(model_file), "CPU", CPU_CONFIG)


@register_format("openvino", quantizations=(None, "fp16", "static_int8"))
def write_openvino(source: SourceModel, out_dir: Path, options: ExportOptions) -> WrittenModel:
    """FP16 here means FP16 weights (compress_to_fp16), computed in f32 on CPU; static INT8
    is the ONNX export's QDQ graph, which OpenVINO runs as INT8."""
    onnx_options = (
        options
        if options.quantize == "static_int8"
        else ExportOptions(opset=options.opset, dynamic_batch=options.dynamic_batch)
    )
    graph = onnx_graph(source, out_dir / REFERENCE_DIR, onnx_options)
    target = out_dir / MODEL_FILE
    ov.save_model(
        ov.convert_model(str(graph.model_file)),
        str(target),
        compress_to_fp16=options.quantize == "fp16",
    )
    optimization = graph.optimization
    if options.quantize == "fp16":
        optimization = {"method": "fp16", "tool": f"openvino {ov.get_version()} compress_to_fp16"}
    return WrittenModel(
        model_file=target,
        files=[target, out_dir / WEIGHTS_FILE],
        reference_onnx=graph.reference_onnx or graph.model_file,
        optimization=optimization,
    )
