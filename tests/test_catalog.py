"""The model catalog the API serves (plain data) is what the trainers really build."""

from __future__ import annotations

import pytest

from contract import catalog
from trainers import offline

offline.apply()


def _count(model) -> int:  # type: ignore[no-untyped-def]
    return sum(p.numel() for p in model.parameters())


def _built(info: catalog.ModelInfo) -> int:
    if info.framework == "timm":
        import timm

        return _count(timm.create_model(info.name, pretrained=False))
    if info.framework == "ultralytics":
        from ultralytics import YOLO

        return _count(YOLO(f"{info.name}.yaml").model)
    from trainers.transformers_models import build_model

    labels = 91 if "object_detection" in info.task_types else 1000
    model, loaded = build_model(info.name, [str(i) for i in range(labels)], info.default_image_size)
    assert loaded is None  # nothing pretrained: built from the embedded config
    return _count(model)


@pytest.mark.parametrize("info", catalog.MODELS, ids=lambda m: f"{m.framework}-{m.name}")
def test_every_catalog_model_builds_with_the_parameters_it_announces(info):
    assert _built(info) == info.parameters


def test_every_framework_of_the_catalog_has_a_trainer():
    from trainers.base import get_trainer

    for framework in catalog.FRAMEWORKS:
        assert get_trainer(framework).framework == framework
    with pytest.raises(KeyError):
        get_trainer("caffe")
