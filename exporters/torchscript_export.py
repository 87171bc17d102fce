"""TorchScript: the source's module traced with torch.jit.trace, or the source's own
exporter when it offers one (`source.native["torchscript"]`).

The file runs with libtorch alone (C++, Triton's pytorch_libtorch backend, or
`torch.jit.load`): its input is the float32 NCHW "images" batch, its outputs those of the
ONNX export, in the same order. Quantization is not offered: it belongs to the ONNX and
OpenVINO routes, whose runtimes have INT8 and FP16 kernels on CPU.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from exporters.registry import (
    REFERENCE_DIR,
    ExportOptions,
    SourceModel,
    WrittenModel,
    onnx_graph,
    register_format,
)
from trainers import offline

offline.apply()

import torch  # noqa: E402
from torch import nn  # noqa: E402

MODEL_FILE = "model.pt"


class _Images(nn.Module):
    """Names the traced forward's argument "images", as the ONNX graph's input."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)  # type: ignore[no-any-return]


def trace(source: SourceModel, path: Path) -> Path:
    """Trace `source.module` at batch 2 (so no size is specialised to 1) and save it."""
    if source.module is None:
        raise ValueError(f"the {source.framework} source has no module to trace")
    example = torch.zeros(2, 3, source.image_size, source.image_size)
    with torch.no_grad():
        # check_trace off: it re-traces and compares graphs, and heads that cache anchors on
        # the first call (YOLO) trace differently twice; exports are checked numerically.
        traced = torch.jit.trace(
            _Images(source.module).eval(), (example,), strict=False, check_trace=False
        )
    traced.save(str(path))
    return path


@register_format("torchscript")
def write_torchscript(source: SourceModel, out_dir: Path, options: ExportOptions) -> WrittenModel:
    target = out_dir / MODEL_FILE
    native = source.native.get("torchscript")
    if native is not None:
        shutil.move(native(source, out_dir, options), target)
    else:
        trace(source, target)
    # metadata.json describes inputs and outputs from the equivalent ONNX graph
    reference = onnx_graph(source, out_dir / REFERENCE_DIR, options)
    return WrittenModel(model_file=target, files=[target], reference_onnx=reference.model_file)
