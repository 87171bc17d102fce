"""What a kind of job tells the engine about itself (DESIGN.md, The job engine).

The engine (dispatch, callbacks, reconciler, cancel, streams) handles every kind the
same way and asks a kind's `JobKindSpec` for what differs: its table, its function,
where its function uploads, what a heartbeat sets, and what its events do. A kind that
does not take an event leaves its hook `None`; the engine then refuses the callback
(400, with the event's code).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

from sqlalchemy.orm import Session

from api.db.models import JobKind
from api.db.models.jobs import DispatchedJob
from api.settings import Settings
from contract.jobs import FUNCTION_FOR_KIND, Done, Heartbeat, Validation

# A job of any kind, as the engine sees it: the columns every kind's table has.
JobRow: TypeAlias = DispatchedJob
J = TypeVar("J", bound=DispatchedJob)

Data: TypeAlias = dict[str, Any]
# An event that records where something durable lies (checkpoint, results, export): its
# data is checked and kept on the job; a BadRequest refuses it.
Recorder: TypeAlias = Callable[[Settings, J, Data], None]


def no_columns(body: Heartbeat) -> dict[str, Any]:
    return {}


def no_model(job: Any) -> str | None:
    return None


def no_resume(job: Any) -> tuple[str, int] | None:
    return None


def nothing_more(db: Session, job: Any, body: Done) -> str | None:
    return None


@dataclass(frozen=True)
class JobKindSpec(Generic[J]):
    kind: JobKind
    model: type[J]  # the kind's table
    # The inputs its function reads, by name: `jobs/inputs.py` presigns each afresh for
    # every attempt ("snapshot", "weights", "checkpoint", "images").
    inputs: tuple[str, ...] = ()
    # The JobSpec's `model`: the catalog model the function builds, if the kind names one.
    model_name: Callable[[J], str | None] = no_model
    # Where a new attempt resumes: the checkpoint key and epoch an earlier one saved.
    resume_from: Callable[[J], tuple[str, int] | None] = no_resume
    # Where its function's uploads go (DESIGN.md, Storage), `{id}`: the job's id.
    artifact_prefix: str = "results/{id}/"
    # The kind's own job columns a heartbeat sets (None: not reported, keeps its value),
    # beside progress_percent, which every kind's heartbeat sets.
    heartbeat_columns: Callable[[Heartbeat], dict[str, Any]] = no_columns
    on_checkpoint: Recorder[J] | None = None
    on_results: Recorder[J] | None = None
    on_export: Recorder[J] | None = None
    # A validation report, applied to the locked, running job; appends its own event and
    # answers whether it is the job's best so far (None: the kind has no "best").
    on_validation: Callable[[Session, J, Validation], bool | None] | None = None
    # The function's "done", before the job ends: the kind's last word. Returns why a
    # reported success is none after all (the job then fails), else None.
    on_done: Callable[[Session, J, Done], str | None] = nothing_more

    @property
    def function(self) -> str:
        """The function this kind runs: the contract's word (the worker reads it too)."""
        return FUNCTION_FOR_KIND[self.kind.value]

    @property
    def name(self) -> str:
        return self.kind.value
