"""api.services.threads.in_threads: the fan-out the dataset scan and put_files share."""

from __future__ import annotations

import threading

import pytest

from api.services.threads import in_threads


def test_results_come_in_the_items_order_from_several_threads() -> None:
    seen: set[str] = set()

    def square(n: int) -> int:
        seen.add(threading.current_thread().name)
        return n * n

    assert in_threads(square, list(range(200)), 4) == [n * n for n in range(200)]
    assert len(seen) >= 1 and all(name.startswith("in-threads") for name in seen)
    assert in_threads(square, [], 4) == []


def test_every_item_runs_and_the_first_failure_in_the_items_order_is_raised() -> None:
    ran: list[int] = []

    def check(n: int) -> int:
        ran.append(n)
        if n in (7, 3):
            raise ValueError(f"item {n}")
        return n

    with pytest.raises(ValueError, match="item 3"):
        in_threads(check, list(range(20)), 3)
    assert sorted(ran) == list(range(20))
