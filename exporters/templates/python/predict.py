"""Predict images with this package, on any machine with Python 3.9+:

    pip install {{PIP_PACKAGES}}
    python predict.py IMAGE [IMAGE ...]          # one JSON prediction per line

{{MODEL_NAME}} ({{TASK_TYPE}}), exported to {{FORMAT}}. vap_runtime.py (beside this file)
does the preprocessing and decoding that metadata.json describes; for TorchScript and
OpenVINO exports a small runner below replaces its ONNX Runtime session.
"""

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from vap_runtime import Model  # noqa: E402


def runner(metadata):
    """None for ONNX (vap_runtime's own session); a callable for the other formats."""
    fmt = metadata["export_format"]
    model_file = str(HERE / metadata["model_file"])
    if fmt == "torchscript":
        import torch

        module = torch.jit.load(model_file, map_location="cpu").eval()

        def run(x):
            with torch.no_grad():
                out = module(torch.from_numpy(x))
            out = out if isinstance(out, (tuple, list)) else [out]
            return [t.numpy() for t in out]

        return run
    if fmt == "openvino":
        import openvino as ov

        # f32: OpenVINO's CPU default may be bf16, which changes the results
        compiled = ov.Core().compile_model(model_file, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        return lambda x: [compiled(x)[o] for o in compiled.outputs]
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--confidence", type=float, default=0.25)
    parser.add_argument("--iou", type=float, default=0.45)
    parser.add_argument("--max-detections", type=int, default=100)
    args = parser.parse_args()
    metadata = json.loads((HERE / "metadata.json").read_text())
    model = Model(HERE, runner=runner(metadata))
    for image in args.images:
        prediction = model.predict(
            image,
            top_k=args.top_k,
            confidence=args.confidence,
            iou=args.iou,
            max_detections=args.max_detections,
        )
        print(json.dumps(prediction))


if __name__ == "__main__":
    main()
