"""ONNX: the timm source and the format writer (the Ultralytics and transformers sources
live in exporters/ultralytics_source.py and exporters/transformers_source.py).

Every source's module is traced here, with the weights inside the one .onnx file
(`external_data=False`: a package ships one model file), the input named "images" and a
dynamic batch dimension: opset 18 and above through torch.onnx's dynamo exporter, older
opsets through the TorchScript exporter (see `_trace_onnx`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from exporters.quantize import quantize_dynamic_int8
from exporters.registry import (
    ExportOptions,
    SourceModel,
    register_format,
    register_source,
)
from trainers import offline

offline.apply()

import torch  # noqa: E402
from torch import nn  # noqa: E402

INPUT_NAME = "images"
MODEL_FILE = "model.onnx"
DYNAMO_MIN_OPSET = 18  # the lowest opset torch.onnx's dynamo exporter writes


class _NamedInput(nn.Module):
    """Wraps a model so the exported graph's input is called "images"."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)  # type: ignore[no-any-return]


# --- sources ---------------------------------------------------------------------------


def _resize_preprocessing(size: int, mean: list[float], std: list[float]) -> dict[str, Any]:
    return {
        "resize": {"method": "resize", "size": [size, size], "interpolation": "bilinear"},
        "channel_order": "RGB",
        "scale": 1 / 255,
        "mean": list(mean),
        "std": list(std),
    }


@register_source("timm")
def timm_source(checkpoint: Path) -> SourceModel:
    from trainers.timm_trainer import load_checkpoint, model_from_checkpoint

    state = load_checkpoint(checkpoint)
    model = model_from_checkpoint(state).eval()
    size = int(state["image_size"])
    return SourceModel(
        framework="timm",
        model_name=state["model_name"],
        task_type=state["task_type"],
        class_names=list(state["class_names"]),
        image_size=size,
        preprocessing=_resize_preprocessing(size, state["mean"], state["std"]),
        postprocessing={
            "kind": "classification_softmax",
            "type": "classification",
            "activation": "softmax",
            "top_k": 5,
        },
        output_names=["logits"],
        module=model,
        checkpoint=checkpoint,
    )


# --- the format ------------------------------------------------------------------------


def _trace_onnx(source: SourceModel, path: Path, options: ExportOptions) -> None:
    """Below opset 18 the dynamo exporter cannot write the model (it exports 18 and its
    down-conversion fails on resnets), so older opsets use the TorchScript exporter."""
    module = _NamedInput(source.module).eval()
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


@register_format("onnx")
def write_onnx(source: SourceModel, out_dir: Path, options: ExportOptions) -> Path:
    """model.onnx in `out_dir` (fp32, or dynamic INT8 when options.quantize says so)."""
    target = out_dir / MODEL_FILE
    native = source.native.get("onnx")
    fp32 = out_dir / "model.fp32.onnx" if options.quantize else target
    if native is not None:
        shutil.move(native(source, out_dir, options), fp32)
    else:
        _trace_onnx(source, fp32, options)
    if options.quantize == "dynamic_int8":
        quantize_dynamic_int8(fp32, target)
        fp32.unlink()
    return target
