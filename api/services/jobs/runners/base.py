"""The one interface every runner implements: submit, cancel, status, and what its
workers can do (asked of the workers themselves, never guessed from the API's side)."""

from __future__ import annotations

import abc
import json
from typing import Literal

from pydantic import ValidationError

from contract.capabilities import WorkerCapabilities
from contract.jobs import JobSpec


class RunnerUnavailable(Exception):
    """The runner cannot take the job (not installed, unreachable, refused): says why."""


RunState = Literal["running", "exited", "unknown"]
# How long a worker may take to say what it can do (a cold container or interpreter).
CAPABILITIES_TIMEOUT = 120.0


class Runner(abc.ABC):
    name: str

    @abc.abstractmethod
    def submit(self, spec: JobSpec) -> str:
        """Start the spec's function; return a reference to cancel or poll it by.

        RunnerUnavailable, quickly, when it cannot be started.
        """

    @abc.abstractmethod
    def cancel(self, ref: str) -> None:
        """Stop the run within seconds; a run that already ended is not an error."""

    @abc.abstractmethod
    def status(self, ref: str) -> RunState:
        """Whether the run is still going, as far as this runner can tell."""

    @abc.abstractmethod
    def capabilities(self) -> WorkerCapabilities:
        """What this runner's workers can do, as a worker reports it
        (`python -m functions capabilities` where they run). RunnerUnavailable when no
        worker can be asked."""


def read_report(output: str, where: str) -> WorkerCapabilities:
    """A worker's capabilities from the last line of what `functions capabilities`
    printed; RunnerUnavailable naming `where` when it is not such a report."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    try:
        return WorkerCapabilities.model_validate(json.loads(lines[-1]))
    except (IndexError, ValueError, ValidationError) as exc:
        tail = output.strip()[-300:] or "nothing"
        raise RunnerUnavailable(
            f"{where} did not report its capabilities ({type(exc).__name__}); it printed: {tail}"
        ) from None
