"""Frameworks' facts: one module per framework beside this file, each defining `FACTS`.

A framework announces itself by its module alone, the way export formats do
(contract/export_formats/): `all_frameworks()` finds every module here, and everything
that lists or dispatches on frameworks reads these facts: the catalog
(contract/catalog.py, its models), the training config (which framework-specific
settings apply), the capability rule (which package a worker needs), the trainers'
and exporters' registries (which adapter and which export source). Adding a framework
is its module here, its trainer and its export source; no list elsewhere names it.

Importing this package imports nothing beyond pydantic: the API unit, which has no
torch, reads it. The trainer and export source are named as "module:attribute" strings
and imported only by the worker that uses them (`entry_point`).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel


class ModelInfo(BaseModel):
    """A catalog model (contract/catalog.py). Defined here, not in the catalog, so the
    framework modules can declare theirs without importing the catalog that lists them."""

    name: str
    framework: str
    task_types: list[str]
    parameters: int
    default_image_size: int
    hub_weights: bool
    description: str
    # transformers: the hub id whose cached weights fit this architecture, when cached.
    hub_id: str | None = None


def catalog_entry(
    name: str,
    framework: str,
    tasks: list[str],
    parameters: int,
    size: int,
    description: str,
    hub_weights: bool = True,
    hub_id: str | None = None,
) -> ModelInfo:
    """A `ModelInfo`, written positionally as the catalog's lists are."""
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


@dataclass(frozen=True)
class FrameworkFacts:
    """What the platform knows about a training framework without importing it.

    `package`: the import name a worker needs (beside torch) to train and export it;
    `distribution`: its pip name, whose version a worker reports (None: `package`).
    `trainer`: "module:Class" of its adapter (trainers/base.py's interface);
    `export_source`: "module:function" turning its checkpoint into a SourceModel
    (exporters/registry.py). `models`: its catalog entries, each naming this framework.
    `settings`: the framework-specific training settings its trainer honours (names of
    contract/training_config.py's fields that apply to some frameworks only).
    `rank` orders lists and tables (catalog order, capability tables)."""

    name: str
    rank: int
    package: str
    trainer: str
    export_source: str
    models: tuple[ModelInfo, ...]
    settings: tuple[str, ...] = ()
    distribution: str | None = None


@cache
def all_frameworks() -> dict[str, FrameworkFacts]:
    """Every framework's facts by name, in `rank` order. A module here whose FACTS name
    differs from its own name, or with a model of another framework, is a mistake,
    reported as ValueError."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        facts = importlib.import_module(f"{__name__}.{module.name}").FACTS
        if facts.name != module.name:
            raise ValueError(f"{__name__}.{module.name} describes {facts.name!r}")
        strays = [m.name for m in facts.models if m.framework != facts.name]
        if strays:
            raise ValueError(f"{__name__}.{module.name} lists other frameworks' models {strays}")
        found.append(facts)
    return {f.name: f for f in sorted(found, key=lambda f: (f.rank, f.name))}


def names() -> tuple[str, ...]:
    """Every framework's name, in `rank` order."""
    return tuple(all_frameworks())


def find(name: str) -> FrameworkFacts | None:
    return all_frameworks().get(name)


def entry_point(spec: str) -> Any:
    """The object a "module:attribute" spec names, importing its module (a trainer's or
    export source's: the caller pays for the framework it asked for, no other)."""
    module, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module), attribute)
