"""Run an exported model: `Model(package_dir).predict(image)`.

One self-contained file: every package ships it as `vap_runtime.py` beside the model, and
the platform's endpoint imports it as `vap_runtime.model`. It needs only numpy, Pillow
and onnxruntime (and onnxruntime only when no `runner` is given), runs on Python 3.9+,
and reads everything else from metadata.json:

- `preprocessing.resize.method`: "resize" (stretch to the size), "letterbox" (keep the
  aspect ratio, pad with `fill_value`, centred, as Ultralytics' detectors) or
  "resize_shorter_center_crop" (shorter side to the size, then a centred crop, as
  Ultralytics' classifiers); `interpolation`: "bilinear" (Pillow's, antialiased, as
  torchvision on PIL images) or "bilinear_half_pixel" (OpenCV's INTER_LINEAR: no
  antialiasing, as Ultralytics' letterbox). Then `scale`, `mean`, `std` per channel in
  `channel_order`, NCHW float32.
- `postprocessing.kind`: "classification_softmax" (logits), "classification_probabilities",
  "yolo_detect" / "yolo_segment" / "yolo_pose" (Ultralytics' head: boxes decoded in input
  pixels, sigmoid class scores, then mask coefficients or keypoints; non-maximum
  suppression here) or "detr_boxes" (DETR/YOLOS: logits with a last no-object class and
  normalized cx, cy, w, h boxes) or "semantic_mask" (per-class logits at the input's size:
  the best class per pixel, mapped to the image's own pixels by nearest neighbour).

The result has the platform's prediction shape:
    {"image_id", "width", "height",
     "classes": [{"class_id", "class_name", "confidence"}, ...],        # best first
     "instances": [{"class_id", "class_name", "confidence", "bbox": [x, y, w, h],
                    "polygon": [[x, y], ...] (segmentation), "keypoints": [[x, y, v], ...] (pose)}]}
Boxes, polygons and keypoints are absolute pixels of the original image, boxes
[x, y, width, height] from the top-left.
Semantic segmentation adds "mask": {"encoding": "png_base64", "width", "height", "data":
a PNG (8-bit grey; 16-bit beyond 255 classes) whose pixel values are class ids,
"classes": [{"class_id", "class_name", "pixels"}, ...] (the classes in it)}.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np
from PIL import Image

# Union, not `|`: aliases are evaluated at run time, and Python 3.9 has no `X | Y` there
# (annotations are never evaluated: `from __future__ import annotations`).
ImageLike = Union[Image.Image, bytes, str, Path, np.ndarray]  # noqa: UP007
Runner = Callable[[np.ndarray], Sequence[np.ndarray]]
Polygon = list[list[float]]

__all__ = [
    "ImageLike", "Model", "Placement", "Runner", "decode_mask", "encode_mask", "labels_at_image"
]  # fmt: skip

METADATA_FILE = "metadata.json"
# This runtime feeds graphs whose preprocessing is embedded (metadata.json
# `preprocessing.embedded`): uint8 RGB pixels, NHWC, at the model's size.
EMBEDDED_PREPROCESSING = True
_CLASS_OFFSET = 7680.0  # per-class box shift for class-aware NMS (Ultralytics' max_wh)
_MAX_NMS = 30000  # candidates kept for NMS, best first (as Ultralytics)


# --- images ------------------------------------------------------------------------------


def load_image(image: ImageLike) -> tuple[Image.Image, str]:
    """A PIL RGB image and its id (the file name, or "image").

    Raises TypeError for anything but a PIL image, encoded bytes, a path or an HWC (or HW)
    uint8 RGB array."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        with Image.open(io.BytesIO(bytes(image))) as opened:
            return opened.convert("RGB"), "image"
    if isinstance(image, (str, Path)):
        with Image.open(image) as opened:
            return opened.convert("RGB"), Path(image).name
    if isinstance(image, np.ndarray):
        array = image if image.dtype == np.uint8 else np.clip(image, 0, 255).astype(np.uint8)
        return Image.fromarray(array).convert("RGB"), "image"
    if isinstance(image, Image.Image):  # nothing here writes to it: no copy when RGB
        return (image if image.mode == "RGB" else image.convert("RGB")), "image"
    raise TypeError(
        f"expected a PIL image, bytes, a path or a numpy array, not {type(image).__name__}"
    )


def _linear_taps(
    src: int, dst: int, clamp_weights: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """OpenCV's INTER_LINEAR taps for one axis: source indices and 11-bit fixed-point
    weights, computed as OpenCV does (float32, half-pixel centres). At the edges OpenCV
    moves the horizontal taps inside the image with all the weight on one pixel, but
    keeps the vertical weights and repeats the edge row (which rounds differently)."""
    pos = ((np.arange(dst, dtype=np.float64) + 0.5) * (src / dst) - 0.5).astype(np.float32)
    left = np.floor(pos).astype(np.int64)
    frac = (pos - left.astype(np.float32)).astype(np.float32)
    if clamp_weights:
        low = left < 0
        frac[low], left[low] = 0.0, 0
        high = left >= src - 1
        frac[high], left[high] = 0.0, src - 1
    w0 = np.rint((np.float32(1.0) - frac) * np.float32(2048.0)).astype(np.int64)
    return left.clip(0, src - 1), (left + 1).clip(0, src - 1), w0, 2048 - w0


def resize_half_pixel(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """HWC uint8 resized like OpenCV's `cv2.resize(..., interpolation=INTER_LINEAR)`:
    bilinear on half-pixel centres without antialiasing, in OpenCV's fixed-point
    arithmetic (so Ultralytics' letterbox is reproduced to the pixel without OpenCV)."""
    src_h, src_w = image.shape[:2]
    if (src_w, src_h) == (width, height):
        return image
    if src_w == 2 * width and src_h == 2 * height:  # OpenCV switches to INTER_AREA here
        blocks = image.reshape(height, 2, width, 2, -1).astype(np.int64).sum(axis=(1, 3))
        return ((blocks + 2) >> 2).astype(np.uint8)  # type: ignore[no-any-return]
    x0, x1, a0, a1 = _linear_taps(src_w, width, clamp_weights=True)
    y0, y1, b0, b1 = _linear_taps(src_h, height, clamp_weights=False)
    rows = image.astype(np.int64)
    horizontal = rows[:, x0] * a0[None, :, None] + rows[:, x1] * a1[None, :, None]
    top = (b0[:, None, None] * (horizontal[y0] >> 4)) >> 16
    bottom = (b1[:, None, None] * (horizontal[y1] >> 4)) >> 16
    return np.clip((top + bottom + 2) >> 2, 0, 255).astype(np.uint8)  # type: ignore[no-any-return]


def _pil_resize(image: Image.Image, width: int, height: int, interpolation: str) -> Image.Image:
    if (image.width, image.height) == (width, height):
        return image
    if interpolation == "bilinear_half_pixel":
        return Image.fromarray(resize_half_pixel(np.asarray(image), width, height))
    return image.resize((width, height), Image.Resampling.BILINEAR)


class Placement:
    """Where the original image lies in the model input: input pixel (x, y) is original
    pixel ((x - pad_x) / gain_x, (y - pad_y) / gain_y)."""

    def __init__(
        self,
        image_id: str,
        width: int,
        height: int,
        input_size: tuple[int, int],
        gain_x: float,
        gain_y: float,
        pad_x: float = 0.0,
        pad_y: float = 0.0,
    ) -> None:
        self.image_id = image_id
        self.width = width
        self.height = height
        self.input_size = input_size  # (height, width) of the model input
        self.gain_x, self.gain_y = gain_x, gain_y
        self.pad_x, self.pad_y = pad_x, pad_y

    def to_original(self, xy: np.ndarray) -> np.ndarray:
        """(..., 2) input-pixel coordinates in original pixels, clipped to the image."""
        out = np.empty_like(xy, dtype=np.float64)
        out[..., 0] = ((xy[..., 0] - self.pad_x) / self.gain_x).clip(0, self.width)
        out[..., 1] = ((xy[..., 1] - self.pad_y) / self.gain_y).clip(0, self.height)
        return out


def _fill_around(planes: np.ndarray, inside: tuple[slice, slice], value: float) -> None:
    """Set every pixel of the (..., H, W) `planes` outside the `inside` rows and columns."""
    rows, cols = inside
    planes[..., : rows.start, :] = value
    planes[..., rows.stop :, :] = value
    planes[..., rows, : cols.start] = value
    planes[..., rows, cols.stop :] = value


# --- postprocessing helpers ----------------------------------------------------------------


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))  # type: ignore[no-any-return]


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Greedy non-maximum suppression on xyxy boxes (as torchvision's: a box goes when its
    IoU with a kept one exceeds `iou`); indices kept, best first."""
    order = scores.argsort(kind="stable")[::-1]
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


def _bilinear_axis(
    src: int, dst: int, start: int, stop: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """torch's bilinear (align_corners=False) taps for output pixels start..stop-1."""
    pos = ((np.arange(start, stop) + 0.5) * (src / dst) - 0.5).clip(0, None)
    left = np.floor(pos).astype(np.int64).clip(0, src - 1)
    right = np.minimum(left + 1, src - 1)
    return left, right, pos - left


def _mask_window(
    proto: np.ndarray, coefficients: np.ndarray, box: np.ndarray, input_size: tuple[int, int]
) -> tuple[np.ndarray, int, int]:
    """One instance's mask inside its box at input resolution (as Ultralytics: prototypes
    combined, upsampled bilinearly, > 0, cropped to the box): (mask, left, top)."""
    height, width = input_size
    channels, mh, mw = proto.shape
    x0 = int(np.clip(math.ceil(box[0]), 0, width))
    y0 = int(np.clip(math.ceil(box[1]), 0, height))
    x1 = int(np.clip(math.ceil(box[2]), 0, width))
    y1 = int(np.clip(math.ceil(box[3]), 0, height))
    if x1 <= x0 or y1 <= y0:
        return np.zeros((0, 0), bool), x0, y0
    logits = (coefficients.astype(np.float32) @ proto.reshape(channels, -1)).reshape(mh, mw)
    cl, cr, cw = _bilinear_axis(mw, width, x0, x1)
    rt, rb, rw = _bilinear_axis(mh, height, y0, y1)
    top = logits[rt][:, cl] * (1 - cw) + logits[rt][:, cr] * cw
    bottom = logits[rb][:, cl] * (1 - cw) + logits[rb][:, cr] * cw
    window = top * (1 - rw)[:, None] + bottom * rw[:, None]
    return window > 0, x0, y0


def largest_outline(mask: np.ndarray) -> np.ndarray | None:
    """The outer boundary of the mask's largest 8-connected region as a polygon whose
    vertices lie on pixel corners ((k, 2) array of x, y), or None for an empty mask.

    The boundary is chained from the edges between set and unset pixels, the set side on
    the right; at a corner shared by two diagonal pixels the walk turns left, joining them
    (8-connectivity, as OpenCV's findContours)."""
    if not mask.any():
        return None
    p = np.pad(mask.astype(bool), 1)
    core = p[1:-1, 1:-1]
    outgoing: dict[tuple[int, int], list[tuple[int, int]]] = {}
    sides = (
        (core & ~p[:-2, 1:-1], 0, 0, (1, 0)),  # top side, heading right
        (core & ~p[1:-1, 2:], 1, 0, (0, 1)),  # right side, heading down
        (core & ~p[2:, 1:-1], 1, 1, (-1, 0)),  # bottom side, heading left
        (core & ~p[1:-1, :-2], 0, 1, (0, -1)),  # left side, heading up
    )
    for where, dx, dy, heading in sides:
        rows, cols = np.nonzero(where)
        for x, y in zip((cols + dx).tolist(), (rows + dy).tolist()):  # noqa: B905 (3.9)
            outgoing.setdefault((x, y), []).append(heading)
    best: list[tuple[int, int]] | None = None
    best_area = 0.0
    for start in list(outgoing):
        while outgoing.get(start):
            heading = outgoing[start].pop()
            corners = [start]
            here = (start[0] + heading[0], start[1] + heading[1])
            while outgoing.get(here):
                options = outgoing[here]
                hx, hy = heading
                for turn in ((hy, -hx), (hx, hy), (-hy, hx)):  # left, straight, right
                    if turn in options:
                        break
                options.remove(turn)
                if turn != heading:
                    corners.append(here)
                heading = turn
                here = (here[0] + turn[0], here[1] + turn[1])
            xs = np.array([c[0] for c in corners], np.float64)
            ys = np.array([c[1] for c in corners], np.float64)
            area = 0.5 * float(np.dot(xs, np.roll(ys, -1)) - np.dot(np.roll(xs, -1), ys))
            if area > best_area:  # outer boundaries run clockwise on screen: positive
                best, best_area = corners, area
    return None if best is None else np.array(best, np.float64)


# --- semantic masks ------------------------------------------------------------------------

VOID = 255  # a truth mask's pixels of no class (Pascal VOC's, ADE20K's void)


def labels_at_image(
    labels: np.ndarray, width: int, height: int, gain_x: float, gain_y: float,
    pad_x: float = 0.0, pad_y: float = 0.0,
) -> np.ndarray:  # fmt: skip
    """The (height, width) map of an image from `labels`, a map at the model input where
    the image's pixel x lies at x * gain_x + pad_x (y alike): each image pixel takes the
    input pixel its centre falls in (nearest neighbour)."""
    rows_in, cols_in = labels.shape[:2]
    xs = np.floor((np.arange(width) + 0.5) * gain_x + pad_x)
    ys = np.floor((np.arange(height) + 0.5) * gain_y + pad_y)
    cols = xs.astype(np.int64).clip(0, cols_in - 1)
    rows = ys.astype(np.int64).clip(0, rows_in - 1)
    return np.asarray(labels)[rows][:, cols]


def encode_mask(mask: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """A (height, width) map of class ids as the prediction's "mask": a PNG (8-bit grey;
    16-bit beyond 255 classes) and the classes in it with their pixel counts. Values that
    are no class id (VOID in a truth mask) stay in the PNG and are left out of
    `classes`."""
    mask = np.asarray(mask)
    height, width = mask.shape
    n = len(class_names)
    values = mask.reshape(-1).astype(np.int64)
    counts = np.bincount(values[(values >= 0) & (values < n)], minlength=n)
    # uint8 makes an 8-bit grey PNG ("L"), uint16 a 16-bit one ("I;16")
    picture = Image.fromarray(mask.astype(np.uint8 if n <= VOID else np.uint16))
    png = io.BytesIO()
    picture.save(png, format="PNG")
    return {
        "encoding": "png_base64",
        "width": int(width),
        "height": int(height),
        "data": base64.b64encode(png.getvalue()).decode("ascii"),
        "classes": [
            {"class_id": c, "class_name": class_names[c], "pixels": int(counts[c])}
            for c in np.flatnonzero(counts).tolist()
        ],
    }


def decode_mask(mask: dict[str, Any]) -> np.ndarray:
    """The (height, width) class-id map of an `encode_mask` result. ValueError for another
    encoding or a picture of another size than it says."""
    if mask.get("encoding") != "png_base64":
        raise ValueError(f"unknown mask encoding {mask.get('encoding')!r}")
    with Image.open(io.BytesIO(base64.b64decode(mask["data"]))) as png:
        out = np.asarray(png)
    if out.shape != (int(mask["height"]), int(mask["width"])):
        raise ValueError(f"a {out.shape} mask said to be {mask['height']}x{mask['width']}")
    return out


# --- the model -----------------------------------------------------------------------------


class _OnnxRunner:
    def __init__(self, model_file: Path, providers: list[str] | None) -> None:
        import onnxruntime as ort

        self.session = ort.InferenceSession(
            str(model_file), providers=providers or ["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        return list(self.session.run(None, {self.input_name: x}))


class Model:
    """An exported package: a folder holding metadata.json and the model file it names.

    `runner`, when given, replaces the ONNX Runtime session: a callable taking the
    preprocessed float32 NCHW batch and returning the model's outputs in metadata order
    (e.g. a TorchScript or OpenVINO model); the model file is then not opened here."""

    def __init__(
        self,
        package_dir: str | Path,
        providers: list[str] | None = None,
        runner: Runner | None = None,
    ) -> None:
        self.package_dir = Path(package_dir)
        self.metadata: dict[str, Any] = json.loads((self.package_dir / METADATA_FILE).read_text())
        self.class_names: list[str] = list(self.metadata["class_names"])
        self.task_type: str = self.metadata.get("task_type", "")
        self.runner: Runner = runner or _OnnxRunner(
            self.package_dir / self.metadata["model_file"], providers
        )
        pre = self.metadata["preprocessing"]
        self._resize: dict[str, Any] = dict(pre["resize"])
        self._size = tuple(int(v) for v in self._resize["size"])  # (height, width)
        mean = np.asarray(pre.get("mean", (0, 0, 0)), np.float32)
        std = np.asarray(pre.get("std", (1, 1, 1)), np.float32)
        scale = np.float32(pre.get("scale", 1 / 255))
        # (x * scale - mean) / std as one multiply-add per value, in place, per channel
        self._gain = (scale / std).astype(np.float32).reshape(3, 1, 1)
        self._offset = (-mean / std).astype(np.float32).reshape(3, 1, 1)
        self._bgr = pre.get("channel_order", "RGB").upper() == "BGR"
        self._embedded = bool(pre.get("embedded"))
        self.postprocessing: dict[str, Any] = dict(self.metadata["postprocessing"])
        self.kind = _kind(self.postprocessing)

    # --- preprocessing -----------------------------------------------------------------

    def preprocess(self, image: ImageLike) -> tuple[np.ndarray, Placement]:
        """One image as a (1, 3, H, W) float32 batch (or, when the graph embeds the
        preprocessing, a (1, H, W, 3) uint8 one), and where it lies in that input."""
        rgb, image_id = load_image(image)
        height, width = self._size
        method = self._resize.get("method", "resize")
        interpolation = self._resize.get("interpolation", "bilinear")
        w0, h0 = rgb.width, rgb.height
        fill, left, top = 0, 0, 0  # where the picture lies in the input (letterbox: padded)
        if method == "letterbox":
            fill = int(self._resize.get("fill_value", 114))
            gain = min(height / h0, width / w0)
            new_w, new_h = max(round(w0 * gain), 1), max(round(h0 * gain), 1)
            left = round((width - new_w) / 2 - 0.1)
            top = round((height - new_h) / 2 - 0.1)
            picture = _pil_resize(rgb, new_w, new_h, interpolation)
            placed = Placement(image_id, w0, h0, (height, width), new_w / w0, new_h / h0, left, top)
        elif method == "resize_shorter_center_crop":
            # torchvision's Resize(int) then CenterCrop: the shorter side becomes the size
            short, long_ = (w0, h0) if w0 <= h0 else (h0, w0)
            side = min(height, width)
            new_long = int(side * long_ / short)
            new_w, new_h = (side, new_long) if w0 <= h0 else (new_long, side)
            resized = _pil_resize(rgb, new_w, new_h, interpolation)
            crop_x = int(round((new_w - width) / 2.0))
            crop_y = int(round((new_h - height) / 2.0))
            picture = resized.crop((crop_x, crop_y, crop_x + width, crop_y + height))
            placed = Placement(
                image_id, w0, h0, (height, width), new_w / w0, new_h / h0, -crop_x, -crop_y
            )
        else:
            picture = _pil_resize(rgb, width, height, interpolation)
            placed = Placement(image_id, w0, h0, (height, width), width / w0, height / h0)
        hwc = np.asarray(picture, np.uint8)
        inside = (slice(top, top + hwc.shape[0]), slice(left, left + hwc.shape[1]))
        if self._embedded:  # the graph scales, normalizes and transposes by itself
            canvas = np.full((1, height, width, 3), fill, np.uint8)
            canvas[(0, *inside)] = hwc
            return canvas, placed
        if self._bgr:
            hwc = hwc[..., ::-1]
        # The picture goes straight into the float batch (one strided copy, planar and
        # float at once), the letterbox's padding around it: no padded canvas is drawn.
        x = np.empty((1, 3, height, width), np.float32)
        _fill_around(x[0], inside, fill)
        x[(0, slice(None), *inside)] = hwc.transpose(2, 0, 1)
        x[0] *= self._gain
        x[0] += self._offset
        return x, placed

    # --- prediction --------------------------------------------------------------------

    def predict(
        self,
        image: ImageLike,
        *,
        top_k: int = 5,
        confidence: float = 0.25,
        iou: float = 0.45,
        max_detections: int = 100,
    ) -> dict[str, Any]:
        """The prediction for one image (see the module docstring for its shape).

        Classification returns the `top_k` classes, best first; detection, segmentation and
        pose the instances scoring above `confidence` after class-aware non-maximum
        suppression at `iou`, best first, at most `max_detections`."""
        x, placed = self.preprocess(image)
        return self.postprocess(
            self.run(x),
            placed,
            top_k=top_k,
            confidence=confidence,
            iou=iou,
            max_detections=max_detections,
        )

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        """The model's outputs for a batch from `preprocess`, in metadata order."""
        return [np.asarray(o) for o in self.runner(x)]

    def postprocess(
        self,
        outputs: Sequence[np.ndarray],
        placed: Placement,
        *,
        top_k: int = 5,
        confidence: float = 0.25,
        iou: float = 0.45,
        max_detections: int = 100,
    ) -> dict[str, Any]:
        """The prediction from the model's outputs for the first image of the batch.

        Raises ValueError for a postprocessing kind this runtime does not know."""
        result: dict[str, Any] = {
            "image_id": placed.image_id,
            "width": placed.width,
            "height": placed.height,
            "classes": [],
            "instances": [],
        }
        kind = self.kind
        if kind in ("classification_softmax", "classification_probabilities"):
            scores = np.asarray(outputs[0][0], np.float64)
            probs = _softmax(scores) if kind == "classification_softmax" else scores
            result["classes"] = self._classes(probs, top_k)
        elif kind in ("yolo_detect", "yolo_segment", "yolo_pose"):
            result["instances"] = self._yolo(outputs, placed, confidence, iou, max_detections)
        elif kind == "detr_boxes":
            result["instances"] = self._detr(outputs, placed, confidence, max_detections)
        elif kind == "semantic_mask":
            result["mask"] = self._semantic_mask(outputs[0][0], placed)
        else:
            raise ValueError(f"this runtime cannot decode {kind!r} outputs")
        return result

    def _classes(self, probs: np.ndarray, top_k: int) -> list[dict[str, Any]]:
        best = np.argsort(-probs, kind="stable")[: max(1, top_k)]
        return [
            {"class_id": int(i), "class_name": self.class_names[i], "confidence": float(probs[i])}
            for i in best
        ]

    def _instance(self, class_id: int, score: float, xyxy: np.ndarray) -> dict[str, Any]:
        x1, y1, x2, y2 = (float(v) for v in xyxy)
        return {
            "class_id": class_id,
            "class_name": self.class_names[class_id],
            "confidence": score,
            "bbox": [x1, y1, x2 - x1, y2 - y1],
        }

    def _yolo(
        self,
        outputs: Sequence[np.ndarray],
        placed: Placement,
        confidence: float,
        iou: float,
        max_detections: int,
    ) -> list[dict[str, Any]]:
        """Ultralytics' head: (4 + classes + extra, anchors) of cx, cy, w, h in input
        pixels, sigmoid class scores, then mask coefficients or keypoints (x, y[, v])."""
        nc = len(self.class_names)
        head = np.asarray(outputs[0][0], np.float32)  # channels x anchors
        # Each anchor's best score, reduced along the channel rows as they lie in memory:
        # an argmax over all anchors would first copy the head transposed (~0.3 ms for
        # YOLO11n at 640). Classes are picked only for the few candidates.
        best = head[4 : 4 + nc].max(axis=0)
        chosen = np.nonzero(best > confidence)[0]  # strictly above, as Ultralytics
        if chosen.size == 0:
            return []
        chosen = chosen[np.argsort(-best[chosen], kind="stable")[:_MAX_NMS]]
        preds, scores = head[:, chosen].T, best[chosen]  # candidates x channels
        class_ids = preds[:, 4 : 4 + nc].argmax(axis=1)
        half = preds[:, 2:4] / 2
        xyxy = np.concatenate([preds[:, :2] - half, preds[:, :2] + half], axis=1)
        offset = class_ids[:, None].astype(np.float32) * _CLASS_OFFSET
        keep = nms(xyxy + offset, scores, iou)[: max(0, max_detections)]
        extra = preds[:, 4 + nc :]
        out = []
        for i in keep:
            c = int(class_ids[i])
            box = placed.to_original(xyxy[i].reshape(2, 2)).reshape(4)
            instance = self._instance(c, float(scores[i]), box)
            if self.kind == "yolo_segment":
                polygon = self._polygon(outputs[1][0], extra[i], xyxy[i], placed)
                if polygon is None:
                    continue  # an empty mask: Ultralytics drops the instance too
                instance["polygon"] = polygon
            elif self.kind == "yolo_pose":
                instance["keypoints"] = self._keypoints(extra[i], placed)
            out.append(instance)
        return out

    def _polygon(
        self, proto: np.ndarray, coefficients: np.ndarray, box: np.ndarray, placed: Placement
    ) -> Polygon | None:
        mask, left, top = _mask_window(
            np.asarray(proto, np.float32), coefficients, box, placed.input_size
        )
        outline = largest_outline(mask) if mask.size else None
        if outline is None:
            return None
        outline += (left, top)
        return [[float(x), float(y)] for x, y in placed.to_original(outline)]

    def _keypoints(self, values: np.ndarray, placed: Placement) -> list[list[float]]:
        shape = self.postprocessing.get("keypoint_shape") or [len(values) // 3, 3]
        points = np.asarray(values, np.float64).reshape(int(shape[0]), int(shape[1]))
        xy = placed.to_original(points[:, :2])
        visible = points[:, 2] if points.shape[1] > 2 else np.ones(len(points))
        return [[float(x), float(y), float(v)] for (x, y), v in zip(xy, visible)]  # noqa: B905 (3.9)

    def _detr(
        self,
        outputs: Sequence[np.ndarray],
        placed: Placement,
        confidence: float,
        max_detections: int,
    ) -> list[dict[str, Any]]:
        """DETR-style queries: softmax over the classes and a last no-object class, each
        query's best real class, its normalized cx, cy, w, h box; no NMS (the model's
        set prediction needs none), best first, confidence at least `confidence`."""
        probs = _softmax(np.asarray(outputs[0][0], np.float64))[:, :-1]
        class_ids = probs.argmax(axis=1)
        scores = probs[np.arange(len(probs)), class_ids]
        boxes = np.asarray(outputs[1][0], np.float64).clip(0.0, 1.0)
        height, width = placed.input_size
        half = boxes[:, 2:4] / 2
        xyxy = np.concatenate([boxes[:, :2] - half, boxes[:, :2] + half], axis=1).clip(0.0, 1.0)
        xyxy *= (width, height, width, height)
        out = []
        for q in np.argsort(-scores, kind="stable")[: max(0, max_detections)]:
            if scores[q] < confidence:
                break
            box = placed.to_original(xyxy[q].reshape(2, 2)).reshape(4)
            out.append(self._instance(int(class_ids[q]), float(scores[q]), box))
        return out

    def _semantic_mask(self, logits: np.ndarray, placed: Placement) -> dict[str, Any]:
        """The best class of each original pixel: the input pixel it falls in (nearest
        neighbour through the placement), as a PNG of class ids."""
        best = np.asarray(logits).argmax(axis=0)  # (H, W) at the input's size
        mask = labels_at_image(
            best, placed.width, placed.height, placed.gain_x, placed.gain_y,
            placed.pad_x, placed.pad_y,
        )  # fmt: skip
        return encode_mask(mask, self.class_names)


def _kind(post: dict[str, Any]) -> str:
    """The postprocessing kind; exports written before `kind` existed said
    {"type": "classification", "activation": "softmax"}."""
    if "kind" in post:
        return str(post["kind"])
    if post.get("type") == "classification":
        return (
            "classification_softmax"
            if post.get("activation") == "softmax"
            else "classification_probabilities"
        )
    if post.get("type") == "yolo_detection":
        return "yolo_detect"
    return str(post.get("type"))


if __name__ == "__main__":
    import sys

    if len(sys.argv) < 3:
        sys.exit("usage: python vap_runtime.py PACKAGE_DIR IMAGE [IMAGE ...]")
    model = Model(sys.argv[1])
    for path in sys.argv[2:]:
        print(json.dumps(model.predict(path)))
