"""TensorRT: an engine is specific to the GPU that builds it, so it is built from the ONNX
export where it will be served; named so that capability tables can say so."""

from contract.export_formats import FormatFacts

FACTS = FormatFacts(
    name="tensorrt",
    rank=50,
    requires=("tensorrt",),
    not_implemented=(
        "TensorRT engines are built from the ONNX export on the NVIDIA GPU that will serve "
        "them (trtexec --onnx=model.onnx, or Triton's onnxruntime backend with the "
        "TensorRT execution provider); export() does not build them"
    ),
    needs_nvidia_gpu=(
        "TensorRT needs an NVIDIA GPU, and none is present on this machine "
        "(the route is via ONNX: export ONNX here, build the engine on the GPU)"
    ),
)
