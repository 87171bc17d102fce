"""The pieces of trainers/loop.py, the one hand-written torch training loop: the
optimizer, the learning-rate schedule, early stopping (which also says which epoch is the
best), and the run state a checkpoint must carry to resume exactly (RNG states, an
atomic save). One config means the same optimization for every framework.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from contract.best_epoch import beats

SCHEDULERS = ("cosine", "step", "linear", "none")
OPTIMIZERS = ("adamw", "adam", "sgd")


def lr_factor(scheduler: str, epoch: int, epochs: int, warmup_epochs: int = 0) -> float:
    """The multiple of the base learning rate used during `epoch` (0-based) of `epochs`.

    Warm-up rises linearly, (e+1)/(warmup+1), then the schedule runs over the remaining
    epochs: cosine (to near zero), linear (to 1/remaining), step (x0.1 after each third),
    none (1). Raises ValueError for an unknown scheduler.
    """
    if epoch < warmup_epochs:
        return (epoch + 1) / (warmup_epochs + 1)
    t = epoch - warmup_epochs
    span = max(1, epochs - warmup_epochs)
    if scheduler == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * t / span))
    if scheduler == "linear":
        return 1.0 - t / span
    if scheduler == "step":
        return 0.1 ** (t // max(1, math.ceil(span / 3)))
    if scheduler == "none":
        return 1.0
    raise ValueError(f"scheduler must be one of {', '.join(SCHEDULERS)}")


def make_optimizer(
    name: str, params: Any, learning_rate: float, weight_decay: float
) -> torch.optim.Optimizer:
    """adamw (decoupled decay), adam (L2 decay) or sgd (momentum 0.9, Nesterov).

    Raises ValueError for another name."""
    if name == "adamw":
        return torch.optim.AdamW(params, lr=learning_rate, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=learning_rate, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=learning_rate, momentum=0.9, nesterov=True, weight_decay=weight_decay
        )
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}")


@dataclass
class EarlyStopping:
    """Counts epochs without a better primary metric (contract/best_epoch.py's rule)."""

    patience: int  # 0: never stop
    best: float | None = None
    best_epoch: int = 0
    bad_epochs: int = 0

    def update(self, epoch: int, value: float, maximize: bool = True) -> bool:
        """Count `epoch`'s primary metric; whether it is the best so far."""
        if beats(value, self.best, maximize):
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience > 0 and self.bad_epochs >= self.patience

    def state(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}


# --- run state ---------------------------------------------------------------------------


def rng_state() -> dict[str, Any]:
    """Python's, numpy's and torch's generator states as plain data and tensors (loadable
    with `torch.load(weights_only=True)`)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()  # type: ignore[misc]
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": [kind, [int(k) for k in keys], int(pos), int(has_gauss), float(gauss)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Put back what `rng_state` captured (CUDA only where the device count matches)."""
    random.setstate(_as_tuples(state["python"]))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def _as_tuples(value: Any) -> Any:
    """random.setstate wants the nested tuples getstate gave (a reload may give lists)."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, list | tuple) else value


def save_atomic(state: dict[str, Any], path: Path) -> None:
    """torch.save to `path` through a temporary file: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


@contextlib.contextmanager
def deterministic(device: torch.device) -> Iterator[None]:
    """Deterministic kernels on the CPU (where they cost nothing); the previous global
    setting is restored. On CUDA the fast kernels stay: throughput comes first there."""
    if device.type != "cpu":
        yield
        return
    before = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn_only)


def autocast(device: torch.device, enabled: bool) -> Any:
    """float16 autocast on `device` when `enabled` (callers enable it on CUDA only)."""
    return torch.autocast(device_type=device.type, dtype=torch.float16, enabled=enabled)
