"""Running one call over many items on a few threads."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")


def in_threads(call: Callable[[_T], _R], items: list[_T], threads: int) -> list[_R]:
    """`call` of every item, on `threads` threads that each take the next item as they
    finish one; the results in the items' order. Every item runs; then the first
    failure, in the items' order, is raised.

    Not a future per item: on 2 cores, an executor's submit and its future came to ~100
    µs per image under cProfile, most of it waiting for the GIL; a dataset scan of 2,000
    small JPEGs without thumbnails went from 0.47-0.62 s to 0.41 s (with thumbnails,
    file creation dominates and it did not move)."""
    results: list[_R | None] = [None] * len(items)
    failures: dict[int, Exception] = {}
    indexes = iter(range(len(items)))  # shared: next() of a range iterator is atomic

    def work() -> None:
        for i in indexes:
            try:
                results[i] = call(items[i])
            except Exception as exc:  # noqa: BLE001  (raised below, in the items' order)
                failures[i] = exc

    workers = max(1, min(threads, len(items)))
    with ThreadPoolExecutor(workers, thread_name_prefix="in-threads") as pool:
        for worker in [pool.submit(work) for _ in range(workers)]:
            worker.result()
    if failures:
        raise failures[min(failures)]
    return results  # type: ignore[return-value]  # every index was filled
