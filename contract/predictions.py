"""What a model says about one image, in one shape for every framework and task.

Coordinates follow the manifest (`contract/manifest.py`): absolute pixels of the
image as stored, boxes as [x, y, width, height] from the top-left. Trainers produce
these; metrics, test runs, inference results and the serving endpoint read them.
Semantic masks are what vap_runtime answers (`vap_runtime.model.encode_mask` writes
them, `decode_mask` reads them back).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ClassScore(BaseModel):
    class_id: int
    class_name: str
    confidence: float


class Instance(BaseModel):
    """A detected object: its box, and its mask or keypoints where the task has them."""

    class_id: int
    class_name: str
    confidence: float
    bbox: tuple[float, float, float, float]  # x, y, width, height
    polygon: list[float] | None = None  # instance segmentation: x1, y1, x2, y2, ...
    keypoints: list[float] | None = None  # pose: x, y, confidence per keypoint


class MaskClass(BaseModel):
    class_id: int
    class_name: str
    pixels: int  # how many of the mask's pixels are of this class


class SemanticMask(BaseModel):
    """The class of every pixel of the image, at its own size: `data` is a base64 PNG
    (8-bit grey, 16-bit beyond 255 classes) whose pixel values are class ids (255, in a
    truth mask, is void); `classes` the classes in it."""

    encoding: Literal["png_base64"] = "png_base64"
    width: int
    height: int
    data: str
    classes: list[MaskClass] = Field(default_factory=list)


class ImagePrediction(BaseModel):
    """Classification fills `classes` (best first, top-k); detection, instance
    segmentation and pose `instances`; semantic segmentation `mask` (absent, not null,
    for the other tasks, as vap_runtime answers)."""

    image_id: str  # the manifest path, or the uploaded file's name
    width: int
    height: int
    classes: list[ClassScore] = Field(default_factory=list)
    instances: list[Instance] = Field(default_factory=list)
    mask: SemanticMask | None = Field(default=None, exclude_if=lambda v: v is None)


class ImageResult(BaseModel):
    """One image of a test run: what the model said, the truth, and how they compare
    (the seeds' task-agnostic per-image format)."""

    image_id: str
    image_path: str
    predictions: dict[str, Any]
    ground_truth: dict[str, Any]
    metrics: dict[str, float]


class ResultsFile(BaseModel):
    """`results/{job}/images.json`: every image of a test run or an inference job."""

    format_version: str = "1.0"
    job_id: str
    task_type: str
    num_images: int
    generated_at: str
    images: list[ImageResult] | list[ImagePrediction]
