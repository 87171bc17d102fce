"""The one interface every runner implements: submit, cancel, status."""

from __future__ import annotations

import abc
from typing import Literal

from contract.jobs import JobSpec


class RunnerUnavailable(Exception):
    """The runner cannot take the job (not installed, unreachable, refused): says why."""


RunState = Literal["running", "exited", "unknown"]


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
