"""timm: image classifiers (pytorch-image-models), trained by trainers/timm_trainer.py
and exported from its checkpoints by exporters/timm_source.py."""

from __future__ import annotations

from contract.frameworks import FrameworkFacts, ModelInfo
from contract.frameworks import catalog_entry as _m

_CLS = ["image_classification"]

MODELS: tuple[ModelInfo, ...] = (
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
)

FACTS = FrameworkFacts(
    name="timm",
    rank=0,
    package="timm",
    trainer="trainers.timm_trainer:TimmTrainer",
    export_source="exporters.timm_source:timm_source",
    settings=("label_smoothing",),
    models=MODELS,
)
