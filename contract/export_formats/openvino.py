"""OpenVINO IR, converted from our ONNX export (so static INT8 is that export's QDQ graph);
FP16 compresses the weights."""

from contract.export_formats import FormatFacts

FACTS = FormatFacts(
    name="openvino",
    rank=20,
    route="via_onnx",
    requires=("onnx", "onnxruntime", "onnxscript", "openvino"),
    quantizations=(None, "fp16", "static_int8"),
)
