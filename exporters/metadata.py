"""metadata.json: everything a deployment needs to feed a model and read its output."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from contract.checksums import sha256_of
from exporters.registry import ExportOptions, SourceModel

FORMAT_VERSION = "1.0"
METADATA_FILE = "metadata.json"
_DTYPES = {"float": "float32", "double": "float64"}  # ONNX Runtime's names -> numpy's


def onnx_io(model_file: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The graph's inputs and outputs as {name, shape, dtype}; symbolic dims by name."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])

    def spec(arg: Any) -> dict[str, Any]:
        dtype = arg.type.removeprefix("tensor(").removesuffix(")")
        return {"name": arg.name, "shape": list(arg.shape), "dtype": _DTYPES.get(dtype, dtype)}

    return [spec(a) for a in session.get_inputs()], [spec(a) for a in session.get_outputs()]


def onnx_opset(model_file: Path) -> int:
    """The default-domain opset the file declares (what a runtime must support)."""
    import onnx

    model = onnx.load(str(model_file), load_external_data=False)
    return next(int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx"))


def build_metadata(
    source: SourceModel,
    fmt: str,
    model_file: Path,
    options: ExportOptions,
) -> dict[str, Any]:
    inputs, outputs = onnx_io(model_file)
    for spec in inputs:
        spec["layout"] = "NCHW"
    return {
        "format_version": FORMAT_VERSION,
        "framework": source.framework,
        "model_name": source.model_name,
        "task_type": source.task_type,
        "export_format": fmt,
        "model_file": model_file.name,
        "sha256": sha256_of(model_file),
        "size_bytes": model_file.stat().st_size,
        "class_names": list(source.class_names),
        "num_classes": len(source.class_names),
        "inputs": inputs,
        "input": inputs[0],
        "outputs": outputs,
        "preprocessing": source.preprocessing,
        "postprocessing": source.postprocessing,
        "export_options": {
            "opset": onnx_opset(model_file),
            "requested_opset": options.opset,
            "dynamic_batch": options.dynamic_batch,
            "quantization": options.quantize,
        },
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_metadata(metadata: dict[str, Any], out_dir: Path) -> Path:
    path = Path(out_dir) / METADATA_FILE
    path.write_text(json.dumps(metadata, indent=2) + "\n")
    return path
