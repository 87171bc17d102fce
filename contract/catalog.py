"""The model catalog: every model the trainers can build, as plain data, gathered from the
frameworks' own modules (contract/frameworks/<framework>.py: a model is added there).

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

from contract import frameworks
from contract.frameworks import ModelInfo

__all__ = ["FRAMEWORKS", "MODELS", "TASK_TYPES", "ModelInfo", "find", "models"]

TASK_TYPES = (
    "image_classification",
    "object_detection",
    "instance_segmentation",
    "semantic_segmentation",
    "pose_estimation",
)


# Each framework declares its own models beside its other facts
# (contract/frameworks/<framework>.py); the catalog is their union, in framework rank order.
MODELS: tuple[ModelInfo, ...] = tuple(
    m for facts in frameworks.all_frameworks().values() for m in facts.models
)

_BY_KEY = {(m.framework, m.name): m for m in MODELS}
# Alphabetical, as the API's framework enums have always listed them.
FRAMEWORKS = tuple(sorted(frameworks.names()))


def find(framework: str, name: str) -> ModelInfo | None:
    return _BY_KEY.get((framework, name))


def models(task_type: str | None = None, framework: str | None = None) -> list[ModelInfo]:
    return [
        m
        for m in MODELS
        if (task_type is None or task_type in m.task_types)
        and (framework is None or m.framework == framework)
    ]
