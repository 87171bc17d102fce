"""Which epoch is a training run's best: the one rule, shared by the worker (which
decides, in its training loop, before it copies a checkpoint to best.ckpt) and the API
(which applies the same rule only to a validation that does not say, e.g. a caller that
tracks no best of its own)."""

from __future__ import annotations

import math
from typing import Any

from contract.non_finite import as_float


def beats(value: float | str, best: Any, maximize: bool) -> bool:
    """Whether `value` is better than the best so far (`best` None: there is none yet).

    Values may be "nan", "inf", "-inf" (contract/non_finite.py): a NaN beats nothing but
    the absence of a best, and any number beats a NaN best, so a run that diverged and
    recovered keeps a real best."""
    if best is None:
        return True
    new, old = as_float(value), as_float(best)
    if math.isnan(new) or math.isnan(old):
        return math.isnan(old) and not math.isnan(new)
    return new > old if maximize else new < old
