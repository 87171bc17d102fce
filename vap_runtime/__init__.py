"""Runs an exported model: pre-processing, ONNX Runtime, post-processing. numpy, Pillow
and onnxruntime only, so the API endpoint and export packages share this exact code:
`vap_runtime/model.py` is the one file a package ships (as `vap_runtime.py`)."""

from vap_runtime.model import ImageLike, Model, Placement, Runner

__all__ = ["ImageLike", "Model", "Placement", "Runner"]
