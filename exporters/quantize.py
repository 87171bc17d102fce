"""Post-training quantization of ONNX models with ONNX Runtime."""

from __future__ import annotations

import tempfile
from pathlib import Path


def quantize_dynamic_int8(src: Path, dst: Path) -> Path:
    """Dynamic INT8 (QInt8 weights, activations quantized at run time; no calibration
    data). The model is shape-inferred first, as ONNX Runtime recommends. Writes `dst`."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        try:
            quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
        except Exception:  # noqa: BLE001 - pre-processing only helps; quantize without it
            prepared = Path(src)
        quantize_dynamic(str(prepared), str(dst), weight_type=QuantType.QInt8)
    return Path(dst)
