"""The model catalog: every model the trainers can build, as plain data.

The API serves it (`GET /api/v1/models`) without importing a framework, and the trainers
build exactly these names. `parameters` is the count of the model built at
`default_image_size` with the default head (ImageNet's 1000 classes, COCO's 80 or 91,
or what the framework's own yaml says); `tests/test_catalog.py` builds every entry
without weights and checks it.

`hub_weights` says whether the framework publishes pretrained weights for the model
(fetching them needs the network). Whether weights are usable *here* depends on the
pretrained-weights registry and the local caches: the API says so per request.
"""

from __future__ import annotations

from pydantic import BaseModel

TASK_TYPES = (
    "image_classification",
    "object_detection",
    "instance_segmentation",
    "semantic_segmentation",
    "pose_estimation",
)


class ModelInfo(BaseModel):
    name: str
    framework: str
    task_types: list[str]
    parameters: int
    default_image_size: int
    hub_weights: bool
    description: str
    # transformers: the hub id whose cached weights fit this architecture, when cached.
    hub_id: str | None = None


def _m(
    name: str,
    framework: str,
    tasks: list[str],
    parameters: int,
    size: int,
    description: str,
    hub_weights: bool = True,
    hub_id: str | None = None,
) -> ModelInfo:
    return ModelInfo(
        name=name,
        framework=framework,
        task_types=tasks,
        parameters=parameters,
        default_image_size=size,
        hub_weights=hub_weights,
        description=description,
        hub_id=hub_id,
    )


_CLS = ["image_classification"]
_DET = ["object_detection"]

MODELS: tuple[ModelInfo, ...] = (
    # timm: image classification
    _m("resnet18", "timm", _CLS, 11_689_512, 224, "ResNet-18: small, fast, a good first try"),
    _m("resnet50", "timm", _CLS, 25_557_032, 224, "ResNet-50: the classic baseline"),
    _m("efficientnet_b0", "timm", _CLS, 5_288_548, 224, "EfficientNet-B0: accurate for its size"),
    _m(
        "mobilenetv3_small_100",
        "timm",
        _CLS,
        2_542_856,
        224,
        "MobileNetV3-Small: for phones and edge devices",
    ),
    _m("convnext_tiny", "timm", _CLS, 28_589_128, 224, "ConvNeXt-Tiny: a modern CNN"),
    _m(
        "vit_tiny_patch16_224",
        "timm",
        _CLS,
        5_717_416,
        224,
        "ViT-Tiny/16: a small vision transformer",
    ),
    # Ultralytics YOLO
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
    # HuggingFace transformers (architectures built from embedded configs)
    _m(
        "vit-tiny",
        "transformers",
        _CLS,
        5_717_416,
        224,
        "ViT with DeiT-Tiny's shape (hidden 192, 12 layers)",
        hub_id="facebook/deit-tiny-patch16-224",
    ),
    _m(
        "vit-base",
        "transformers",
        _CLS,
        86_567_656,
        224,
        "ViT-Base/16",
        hub_id="google/vit-base-patch16-224",
    ),
    _m(
        "yolos-tiny",
        "transformers",
        _DET,
        5_888_544,  # at 512 px: YOLOS's position embeddings follow the input size
        512,
        "YOLOS-Tiny: a ViT detector that trains on the CPU",
        hub_id="hustvl/yolos-tiny",
    ),
    # transformers semantic segmentation (trainers/transformers_segformer.py); 1000 classes
    _m(
        "segformer-b0",
        "transformers",
        ["semantic_segmentation"],
        3_971_144,
        512,
        "SegFormer-B0: semantic masks (mIoU), small enough for the CPU",
        hub_id="nvidia/mit-b0",
    ),
)

_BY_KEY = {(m.framework, m.name): m for m in MODELS}
FRAMEWORKS = tuple(sorted({m.framework for m in MODELS}))


def find(framework: str, name: str) -> ModelInfo | None:
    return _BY_KEY.get((framework, name))


def models(task_type: str | None = None, framework: str | None = None) -> list[ModelInfo]:
    return [
        m
        for m in MODELS
        if (task_type is None or task_type in m.task_types)
        and (framework is None or m.framework == framework)
    ]
