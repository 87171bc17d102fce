"""The downloadable package: one zip a user unpacks and runs with nothing of this platform.

Layout (flat, so `python example.py image.png` works in the unpacked folder):
    model.onnx, metadata.json, labels.txt, vap_runtime.py, example.py, README.md
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from exporters.registry import ExportResult

RUNTIME = Path(__file__).parent / "runtime" / "vap_runtime.py"

EXAMPLE = '''"""Predict one image with this package: python example.py IMAGE"""

import json
import sys
from pathlib import Path

from vap_runtime import Model

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python example.py IMAGE")
    model = Model(Path(__file__).parent)
    print(json.dumps(model.predict(sys.argv[1]), indent=2))
'''


def readme(metadata: dict[str, Any]) -> str:
    pre = metadata["preprocessing"]
    inp = metadata["input"]
    opts = metadata["export_options"]
    latency = metadata.get("latency", {})
    return f"""# {metadata["model_name"]} ({metadata["framework"]}, {metadata["task_type"]})

Exported to {metadata["export_format"].upper()} (`{metadata["model_file"]}`, opset {opts["opset"]},
quantization: {opts["quantization"] or "none (float32)"}), {metadata["num_classes"]} classes
(`labels.txt`, one per line, in class-id order).

## Run it

    pip install onnxruntime numpy pillow
    python example.py path/to/image.jpg

or from Python:

    from vap_runtime import Model
    model = Model(".")              # the folder holding metadata.json
    result = model.predict("image.jpg", top_k=5, confidence=0.25)

`predict` accepts a path, a PIL image or an RGB uint8 numpy array (H, W, 3) and returns
`{{"image_id", "width", "height", "classes": [...], "instances": [...]}}`: classification
fills `classes` (class_id, class_name, confidence; best first), detection fills
`instances` (class_id, class_name, confidence, bbox = [x, y, width, height] in pixels of
the original image).

## The model without the wrapper

Input `{inp["name"]}`: {inp["dtype"]} {inp["layout"]} of shape {inp["shape"]} (the first
dimension is the batch). Preprocessing, as in training: {pre["resize"]["method"]} to
{pre["resize"]["size"]} (height, width), RGB, multiply by {pre["scale"]:.6g}, subtract mean
{pre["mean"]} and divide by std {pre["std"]} per channel. `metadata.json` holds the
output layout and postprocessing (`postprocessing`), and the file's sha256.

Median latency of one image on the export machine ({latency.get("runtime", "?")}):
{latency.get("median_ms", "?")} ms. Your hardware will differ.
"""


def build_package(result: ExportResult, out_zip: Path) -> Path:
    """Write the package zip at `out_zip` (its parent created) and return its path."""
    out_zip = Path(out_zip)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    labels = "\n".join(result.metadata["class_names"]) + "\n"
    with zipfile.ZipFile(out_zip, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for path in result.files:
            z.write(path, arcname=path.name)
        z.writestr("labels.txt", labels)
        z.write(RUNTIME, arcname="vap_runtime.py")
        z.writestr("example.py", EXAMPLE)
        z.writestr("README.md", readme(result.metadata))
    return out_zip
