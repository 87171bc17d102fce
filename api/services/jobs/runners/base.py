"""The one interface every runner implements: submit, cancel, status, and what its
workers can do (asked of the workers themselves, never guessed from the API's side);
and the settings a runner declares beside its code."""

from __future__ import annotations

import abc
import json
from typing import TYPE_CHECKING, ClassVar, Literal, Self

from pydantic import BaseModel, ValidationError

from contract.capabilities import WorkerCapabilities
from contract.jobs import JobSpec


class RunnerUnavailable(Exception):
    """The runner cannot take the job (not installed, unreachable, refused): says why."""


RunState = Literal["running", "exited", "unknown"]
# How long a worker may take to say what it can do (a cold container or interpreter).
CAPABILITIES_TIMEOUT = 120.0

if TYPE_CHECKING:
    from api.settings import Settings


class RunnerSettings(BaseModel):
    """A runner's own settings, declared in its module: fields named as their
    environment variables (`docker_image` is DOCKER_IMAGE). The one Settings class takes
    every registered runner's in (api/settings.py), so they are read once, from the
    environment and `.env`, with the rest, and listed in `.env.example` with them."""

    @classmethod
    def of(cls, settings: Settings) -> Self:
        """This runner's settings as `settings` holds them (a `model_copy` included)."""
        return cls.model_validate({name: getattr(settings, name) for name in cls.model_fields})


class Runner(abc.ABC):
    # The name jobs and EXECUTION_BACKEND give it: its key in RUNNERS.
    name: ClassVar[str]
    # Its settings; the base declares none.
    settings_model: ClassVar[type[RunnerSettings]] = RunnerSettings

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

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
