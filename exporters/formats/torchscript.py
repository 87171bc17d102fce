"""TorchScript: the source's module traced with torch.jit.trace, or the source's own
exporter when it offers one (`source.native["torchscript"]`).

The file runs with libtorch alone (C++, Triton's pytorch_libtorch backend, or
`torch.jit.load`): its input is the float32 NCHW "images" batch, its outputs those of the
ONNX export, in the same order. Quantization is not offered (contract/export_formats/).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from contract.export_formats.torchscript import FACTS
from exporters.format_spec import FormatSpec, Packaging, Runner
from exporters.formats import onnx
from exporters.registry import REFERENCE_DIR, ExportOptions, SourceModel, WrittenModel

MODEL_FILE = "model.pt"


def trace(source: SourceModel, path: Path) -> Path:
    """Trace `source.module` at batch 2 (so no size is specialised to 1) and save it."""
    if source.module is None:
        raise ValueError(f"the {source.framework} source has no module to trace")
    from trainers import offline

    offline.apply()
    import torch
    from torch import nn

    class Images(nn.Module):
        """Names the traced forward's argument "images", as the ONNX graph's input."""

        def __init__(self, model: nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return self.model(images)  # type: ignore[no-any-return]

    example = torch.zeros(2, 3, source.image_size, source.image_size)
    with torch.no_grad():
        # check_trace off: it re-traces and compares graphs, and heads that cache anchors on
        # the first call (YOLO) trace differently twice; exports are checked numerically.
        traced = torch.jit.trace(
            Images(source.module).eval(), (example,), strict=False, check_trace=False
        )
    traced.save(str(path))
    return path


def write(source: SourceModel, out_dir: Path, options: ExportOptions) -> WrittenModel:
    target = out_dir / MODEL_FILE
    native = source.native.get("torchscript")
    if native is not None:
        shutil.move(native(source, out_dir, options), target)
    else:
        trace(source, target)
    # metadata.json describes inputs and outputs from the equivalent ONNX graph
    reference = onnx.graph(source, out_dir / REFERENCE_DIR, options)
    return WrittenModel(model_file=target, files=[target], reference_onnx=reference.model_file)


def _flatten(out: Any) -> list[Any]:
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flatten(o)]
    return [out]


def runner(model_file: Path) -> Runner:
    import numpy as np
    import torch

    module = torch.jit.load(str(model_file), map_location="cpu").eval()

    def run(x: Any) -> list[Any]:
        with torch.no_grad():
            out = module(torch.from_numpy(np.ascontiguousarray(x)))
        return [t.numpy() for t in _flatten(out)]

    return run


def runtime() -> str:
    import torch

    return f"torch {torch.__version__} (TorchScript, CPU)"


# The package's sample (exporters/templates/python/predict.py.template) runs the file with this.
SAMPLE_RUNNER = '''def runner(metadata):
    """TorchScript: float32 NCHW batch in, the outputs in metadata order out."""
    import torch

    module = torch.jit.load(str(HERE / metadata["model_file"]), map_location="cpu").eval()

    def run(x):
        with torch.no_grad():
            out = module(torch.from_numpy(x))
        out = out if isinstance(out, (tuple, list)) else [out]
        return [t.numpy() for t in out]

    return run'''

FORMAT = FormatSpec(
    facts=FACTS,
    write=write,
    runner=runner,
    runtime=runtime,
    opset_applies=False,  # no ONNX in a TorchScript file
    packaging=Packaging(
        pip="torch numpy pillow",
        elsewhere="Outside Python, load `{model_file}` with libtorch (`torch::jit::load`).",
        sample_runner=SAMPLE_RUNNER,
        triton_backend='platform: "pytorch_libtorch"',
        triton_positional_io=True,
    ),
)
