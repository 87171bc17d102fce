"""Export formats' facts: one module per format beside this file, each defining `FACTS`.

A format announces itself by its module alone: `all_formats()` finds every module here,
so the API's schemas and the DB enum (format names), the capability rule
(contract/export_capabilities.py) and the exporters (exporters/formats/, which hold the
writers and runners) all read the same facts. Importing this package imports nothing
beyond the standard library: the API unit, which has no torch, reads it.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class FormatFacts:
    """What the platform knows about an export format without running anything.

    `route`: how export() makes it for every framework ("native": from the framework's
    torch model, "via_onnx": converted from our ONNX export), None when export() does not
    implement it, and then `not_implemented` says why. `requires`: import names the
    exporting worker needs beyond the framework. `quantizations` and
    `embed_preprocessing`: what an export of this format may ask for (None: float32).
    `needs_nvidia_gpu`: why it can only be made where an NVIDIA GPU is. `validated_on`:
    (platform.system(), what to say elsewhere) when its models only run on one system.
    `platform_endpoint`: whether `POST /v1/infer` (ONNX Runtime) serves it.
    `rank` orders lists and forms (ONNX, the reference graph, first)."""

    name: str
    rank: int
    route: str | None = None
    not_implemented: str | None = None
    requires: tuple[str, ...] = ()
    quantizations: tuple[str | None, ...] = (None,)
    embed_preprocessing: bool = False
    needs_nvidia_gpu: str | None = None
    validated_on: tuple[str, str] | None = None
    platform_endpoint: bool = False


@cache
def all_formats() -> dict[str, FormatFacts]:
    """Every format's facts by name, in `rank` order. A module here whose FACTS name
    differs from its own name is a mistake, reported as ValueError."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        facts = importlib.import_module(f"{__name__}.{module.name}").FACTS
        if facts.name != module.name:
            raise ValueError(f"{__name__}.{module.name} describes {facts.name!r}")
        found.append(facts)
    return {f.name: f for f in sorted(found, key=lambda f: (f.rank, f.name))}


def names() -> tuple[str, ...]:
    """Every format's name, in `rank` order."""
    return tuple(all_formats())


def facts_of(name: str) -> FormatFacts:
    """The facts of format `name`; ValueError for a name no module here describes."""
    try:
        return all_formats()[name]
    except KeyError:
        raise ValueError(f"unknown export format {name!r}; known: {list(names())}") from None
