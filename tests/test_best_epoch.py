"""Which epoch is a run's best: one rule for the worker's loop and the API."""

from __future__ import annotations

import math

from contract.best_epoch import beats


def test_the_first_epoch_is_always_the_best_so_far() -> None:
    assert beats(0.0, None, maximize=True) and beats(math.nan, None, maximize=False)


def test_better_follows_the_metrics_direction_and_a_tie_is_not_better() -> None:
    assert beats(0.7, 0.5, maximize=True) and not beats(0.5, 0.7, maximize=True)
    assert beats(0.4, 0.9, maximize=False) and not beats(0.9, 0.4, maximize=False)
    assert not beats(0.5, 0.5, maximize=True)


def test_a_nan_beats_nothing_and_any_number_beats_a_nan_best() -> None:
    assert not beats("nan", 0.1, maximize=True)
    assert beats(0.1, "nan", maximize=True) and beats(-math.inf, math.nan, maximize=True)
