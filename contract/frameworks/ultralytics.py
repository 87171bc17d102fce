"""Ultralytics YOLO: detection, instance segmentation, pose and classification, trained by
trainers/ultralytics_trainer.py and exported by exporters/ultralytics_source.py. Models are
built from their yaml (`yolo11n.yaml`), so none needs the network."""

from __future__ import annotations

from contract.frameworks import FrameworkFacts, ModelInfo
from contract.frameworks import catalog_entry as _m

_CLS = ["image_classification"]
_DET = ["object_detection"]

MODELS: tuple[ModelInfo, ...] = (
    _m("yolo11n", "ultralytics", _DET, 2_624_080, 640, "YOLO11 nano detector"),
    _m("yolo11s", "ultralytics", _DET, 9_458_752, 640, "YOLO11 small detector"),
    _m("yolo11m", "ultralytics", _DET, 20_114_688, 640, "YOLO11 medium detector"),
    _m(
        "yolo11n-seg",
        "ultralytics",
        ["instance_segmentation"],
        2_876_848,
        640,
        "YOLO11 nano instance segmentation",
    ),
    _m(
        "yolo11s-seg",
        "ultralytics",
        ["instance_segmentation"],
        10_113_248,
        640,
        "YOLO11 small instance segmentation",
    ),
    _m(
        "yolo11n-pose",
        "ultralytics",
        ["pose_estimation"],
        2_908_507,
        640,
        "YOLO11 nano pose (keypoints)",
    ),
    _m("yolo11n-cls", "ultralytics", _CLS, 2_812_104, 224, "YOLO11 nano classifier"),
)

FACTS = FrameworkFacts(
    name="ultralytics",
    rank=1,
    package="ultralytics",
    trainer="trainers.ultralytics_trainer:UltralyticsTrainer",
    export_source="exporters.ultralytics_source:ultralytics_source",
    settings=("mosaic",),
    models=MODELS,
)
