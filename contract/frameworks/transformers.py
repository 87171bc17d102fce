"""Hugging Face transformers: architectures built from configs embedded in
trainers/transformers_models.py (no hub access), trained by
trainers/transformers_trainer.py and exported by exporters/transformers_source.py.
`hub_id` names the hub checkpoint whose locally cached weights fit the architecture."""

from __future__ import annotations

from contract.frameworks import FrameworkFacts, ModelInfo
from contract.frameworks import catalog_entry as _m

_CLS = ["image_classification"]
_DET = ["object_detection"]

MODELS: tuple[ModelInfo, ...] = (
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
    # semantic segmentation (trainers/transformers_segformer.py); parameters with 1000 classes
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

FACTS = FrameworkFacts(
    name="transformers",
    rank=2,
    package="transformers",
    trainer="trainers.transformers_trainer:TransformersTrainer",
    export_source="exporters.transformers_source:transformers_source",
    settings=("label_smoothing",),
    models=MODELS,
)
