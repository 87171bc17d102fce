"""TorchScript: traced with torch.jit.trace (libtorch, Triton's pytorch_libtorch). No
quantization: that belongs to the ONNX and OpenVINO routes, whose CPU runtimes have INT8
and FP16 kernels."""

from contract.export_formats import FormatFacts

FACTS = FormatFacts(name="torchscript", rank=10, route="native")
