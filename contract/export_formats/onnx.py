"""ONNX: the platform's reference graph, traced from the framework's torch model.
Quantization and embedded preprocessing are rewrites of this graph (exporters/quantize.py,
exporters/embed_preprocessing.py), and the platform endpoint runs it with ONNX Runtime."""

from contract.export_formats import FormatFacts

FACTS = FormatFacts(
    name="onnx",
    rank=0,
    route="native",
    requires=("onnx", "onnxruntime", "onnxscript"),
    quantizations=(None, "dynamic_int8", "static_int8", "fp16"),
    embed_preprocessing=True,
    platform_endpoint=True,
)
