"""Run an exported model package with ONNX Runtime: `Model(package_dir).predict(image)`.

Ships alone inside every package: it needs only onnxruntime, numpy and Pillow, and reads
everything else (preprocessing, class names, postprocessing) from metadata.json. The
result has the platform's prediction shape:
    {"image_id", "width", "height",
     "classes": [{"class_id", "class_name", "confidence"}, ...],   # classification, best first
     "instances": [{"class_id", "class_name", "confidence", "bbox": [x, y, w, h]}, ...]}
Boxes are absolute pixels of the original image, [x, y, width, height] from the top-left.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Union

import numpy as np
import onnxruntime as ort
from PIL import Image

# Union, not |: this alias is evaluated at run time, and users may run Python 3.9.
ImageLike = Union[Image.Image, str, Path, np.ndarray]  # noqa: UP007

__all__ = ["Model"]


def _to_rgb(image: ImageLike) -> tuple[Image.Image, str]:
    """A PIL RGB image and its id (the file name, or "image")."""
    if isinstance(image, (str, Path)):
        with Image.open(image) as opened:
            return opened.convert("RGB"), Path(image).name
    if isinstance(image, np.ndarray):  # HWC (or HW) uint8, RGB
        array = image if image.dtype == np.uint8 else np.clip(image, 0, 255).astype(np.uint8)
        return Image.fromarray(array).convert("RGB"), "image"
    if isinstance(image, Image.Image):
        return image.convert("RGB"), "image"
    raise TypeError(f"expected a PIL image, a path or a numpy array, not {type(image).__name__}")


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Greedy non-maximum suppression on xyxy boxes; indices kept, best first."""
    order = scores.argsort()[::-1]
    areas = (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        x1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = (x2 - x1).clip(0) * (y2 - y1).clip(0)
        overlap = inter / (areas[i] + areas[rest] - inter + 1e-9)
        order = rest[overlap <= iou]
    return keep


class Model:
    """An exported package (a folder holding metadata.json and the model it names)."""

    def __init__(self, package_dir: str | Path, providers: list[str] | None = None) -> None:
        self.package_dir = Path(package_dir)
        self.metadata: dict[str, Any] = json.loads((self.package_dir / "metadata.json").read_text())
        self.class_names: list[str] = list(self.metadata["class_names"])
        self.session = ort.InferenceSession(
            str(self.package_dir / self.metadata["model_file"]),
            providers=providers or ["CPUExecutionProvider"],
        )
        self.input_name = self.session.get_inputs()[0].name
        pre = self.metadata["preprocessing"]
        self._size = tuple(int(v) for v in pre["resize"]["size"])  # (height, width)
        self._mean = np.asarray(pre["mean"], np.float32).reshape(3, 1, 1)
        self._std = np.asarray(pre["std"], np.float32).reshape(3, 1, 1)
        self._scale = float(pre.get("scale", 1 / 255))

    # --- preprocessing ---------------------------------------------------------------

    def preprocess(self, image: Image.Image) -> tuple[np.ndarray, dict[str, float]]:
        """One image as a (1, 3, H, W) float32 tensor, and how to map boxes back."""
        height, width = self._size
        method = self.metadata["preprocessing"]["resize"].get("method", "resize")
        if method == "letterbox":
            fill = int(self.metadata["preprocessing"]["resize"].get("fill_value", 114))
            gain = min(height / image.height, width / image.width)
            new_w, new_h = round(image.width * gain), round(image.height * gain)
            pad_x, pad_y = (width - new_w) / 2, (height - new_h) / 2
            canvas = Image.new("RGB", (width, height), (fill, fill, fill))
            resized = image.resize((new_w, new_h), Image.Resampling.BILINEAR)
            canvas.paste(resized, (int(round(pad_x - 0.1)), int(round(pad_y - 0.1))))
            placed = {
                "gain": gain,
                "pad_x": float(int(round(pad_x - 0.1))),
                "pad_y": float(int(round(pad_y - 0.1))),
            }
            image = canvas
        else:
            placed = {"sx": width / max(1, image.width), "sy": height / max(1, image.height)}
            image = image.resize((width, height), Image.Resampling.BILINEAR)
        x = np.asarray(image, np.float32).transpose(2, 0, 1) * self._scale
        x = (x - self._mean) / self._std
        return x[None].astype(np.float32), placed

    # --- prediction ------------------------------------------------------------------

    def predict(self, image: ImageLike, top_k: int = 5, confidence: float = 0.25) -> dict[str, Any]:
        """The prediction for one image (see the module docstring for its shape).

        Classification returns the `top_k` classes, best first; detection the boxes
        scoring at least `confidence`, after non-maximum suppression."""
        rgb, image_id = _to_rgb(image)
        x, placed = self.preprocess(rgb)
        outputs = self.session.run(None, {self.input_name: x})
        result: dict[str, Any] = {
            "image_id": image_id,
            "width": rgb.width,
            "height": rgb.height,
            "classes": [],
            "instances": [],
        }
        kind = self.metadata["postprocessing"]["type"]
        if kind == "classification":
            result["classes"] = self._classes(outputs[0][0], top_k)
        elif kind == "yolo_detection":
            result["instances"] = self._detections(outputs[0][0], placed, rgb, confidence)
        else:
            raise ValueError(f"this runtime cannot decode {kind!r} outputs")
        return result

    def _classes(self, logits: np.ndarray, top_k: int) -> list[dict[str, Any]]:
        post = self.metadata["postprocessing"]
        probs = _softmax(logits) if post.get("activation") == "softmax" else logits
        best = np.argsort(-probs, kind="stable")[: max(1, top_k)]
        return [
            {"class_id": int(i), "class_name": self.class_names[i], "confidence": float(probs[i])}
            for i in best
        ]

    def _detections(
        self, raw: np.ndarray, placed: dict[str, float], image: Image.Image, confidence: float
    ) -> list[dict[str, Any]]:
        """YOLO's raw head: (4 + num_classes, anchors) of cx, cy, w, h (input pixels)
        and per-class scores (already sigmoid-activated)."""
        post = self.metadata["postprocessing"]
        nc = len(self.class_names)
        preds = raw.T  # anchors x (4 + nc)
        scores_all = preds[:, 4 : 4 + nc]
        class_ids = scores_all.argmax(axis=1)
        scores = scores_all[np.arange(len(preds)), class_ids]
        mask = scores >= confidence
        if not mask.any():
            return []
        cxcywh, scores, class_ids = preds[mask, :4], scores[mask], class_ids[mask]
        xyxy = np.concatenate(
            [cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], 1
        )
        # class-aware NMS: shift each class's boxes apart so they never overlap
        offset = class_ids[:, None].astype(np.float32) * 4096.0
        keep = _nms(xyxy + offset, scores, float(post.get("iou_threshold", 0.7)))
        keep = keep[: int(post.get("max_detections", 300))]
        gain, pad_x, pad_y = placed["gain"], placed["pad_x"], placed["pad_y"]
        out = []
        for i in keep:
            x1 = float(np.clip((xyxy[i, 0] - pad_x) / gain, 0, image.width))
            y1 = float(np.clip((xyxy[i, 1] - pad_y) / gain, 0, image.height))
            x2 = float(np.clip((xyxy[i, 2] - pad_x) / gain, 0, image.width))
            y2 = float(np.clip((xyxy[i, 3] - pad_y) / gain, 0, image.height))
            c = int(class_ids[i])
            out.append(
                {
                    "class_id": c,
                    "class_name": self.class_names[c],
                    "confidence": float(scores[i]),
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                }
            )
        return out


if __name__ == "__main__":
    import sys

    if len(sys.argv) < 3:
        sys.exit("usage: python vap_runtime.py PACKAGE_DIR IMAGE [IMAGE ...]")
    model = Model(sys.argv[1])
    for path in sys.argv[2:]:
        print(json.dumps(model.predict(path)))
