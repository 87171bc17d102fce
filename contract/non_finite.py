"""Numbers that are not finite (NaN, infinities) as both sides write them in JSON.

A diverging run's loss is NaN or infinite, and it must be able to say so. JSON has no
such numbers (Python writes the non-standard `NaN` and `Infinity`, which PostgreSQL
refuses in a json column, and pydantic writes them as null, which would lose them), so
everywhere a value travels or is kept as JSON (callbacks, job columns, events, API
answers) a non-finite number is its name: "nan", "inf" or "-inf", the spelling
Python's `float()` reads back and `str()` writes. A metric is therefore a finite number
or one of those three strings (`Metric`), and clients show the string as it is.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator

NonFinite = Literal["nan", "inf", "-inf"]
NON_FINITE: tuple[str, ...] = ("nan", "inf", "-inf")


def name_of(value: float) -> NonFinite:
    """The name of a non-finite float."""
    if math.isnan(value):
        return "nan"
    return "inf" if value > 0 else "-inf"


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float, however deep in dicts, lists and tuples, as
    its name; everything else as it is."""
    if isinstance(value, float):
        return value if math.isfinite(value) else name_of(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _named(value: float | str) -> float | str:
    return name_of(value) if isinstance(value, float) and not math.isfinite(value) else value


# A metric's value: a finite number, or "nan", "inf", "-inf". Input may also be a
# non-finite float (Python's JSON reads NaN and Infinity) or a string float() reads
# ("NaN", "Infinity"): each is kept as its name.
Metric = Annotated[float | NonFinite, AfterValidator(_named)]


def as_float(value: float | str) -> float:
    """A metric as a float again (NaN and infinities included), to compare it."""
    return float(value)
