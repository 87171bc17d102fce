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

from contract.export_formats.openvino import FACTS
from exporters.format_spec import FormatSpec, Packaging, Runner
from exporters.formats import onnx
from exporters.registry import REFERENCE_DIR, ExportOptions, SourceModel, WrittenModel

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


def _openvino() -> Any:
    decline_telemetry()
    import openvino

    return openvino


def compile_for_cpu(model_file: Path) -> Any:
    """The IR compiled for the CPU at f32 inference precision."""
    return _openvino().Core().compile_model(str(model_file), "CPU", CPU_CONFIG)


def write(source: SourceModel, out_dir: Path, options: ExportOptions) -> WrittenModel:
    """FP16 here means FP16 weights (compress_to_fp16), computed in f32 on CPU; static INT8
    is the ONNX export's QDQ graph, which OpenVINO runs as INT8."""
    ov = _openvino()
    onnx_options = (
        options
        if options.quantize == "static_int8"
        else ExportOptions(opset=options.opset, dynamic_batch=options.dynamic_batch)
    )
    graph = onnx.graph(source, out_dir / REFERENCE_DIR, onnx_options)
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


def runner(model_file: Path) -> Runner:
    import numpy as np

    compiled = compile_for_cpu(model_file)
    outputs = list(compiled.outputs)

    def run(x: Any) -> list[Any]:
        result = compiled(np.ascontiguousarray(x))
        return [np.asarray(result[o]) for o in outputs]

    return run


def runtime() -> str:
    return f"openvino {_openvino().get_version()} CPU (f32 inference precision)"


# The package's sample (exporters/templates/python/predict.py.template) runs the file with this.
SAMPLE_RUNNER = '''def runner(metadata):
    """OpenVINO: float32 NCHW batch in, the outputs in metadata order out."""
    import openvino as ov

    # f32: OpenVINO's CPU default may be bf16, which changes the results
    model_file = str(HERE / metadata["model_file"])
    compiled = ov.Core().compile_model(model_file, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return lambda x: [compiled(x)[o] for o in compiled.outputs]'''

FORMAT = FormatSpec(
    facts=FACTS,
    write=write,
    runner=runner,
    runtime=runtime,
    packaging=Packaging(
        pip="openvino numpy pillow",
        elsewhere="Outside Python, load `{model_file}` with OpenVINO's C++ API.",
        sample_runner=SAMPLE_RUNNER,
        triton_backend='backend: "openvino"',
    ),
)
