"""Where functions run. Each runner implements `Runner` in a module of its own, with the
settings it needs beside it (`Runner.settings_model`); adding one is adding that module
and its line in _BUILT_IN. Everything else reads this registry: the names requests and
EXECUTION_BACKEND may give (`RunnerName`, an enum in the OpenAPI document), the
settings the one Settings class reads (`runner_settings`), the runner a job is handed to
(`get_runner`). The rest of the system never knows which runner ran a job.

Nothing here imports api.settings but for types: Settings is built from this registry.
"""

from __future__ import annotations

import contextlib
import importlib
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from api.services.jobs.runners.base import Runner, RunnerSettings, RunnerUnavailable

if TYPE_CHECKING:
    from api.settings import Settings

# Every runner this API ships, in the order the OpenAPI document lists their names.
_BUILT_IN = (
    "api.services.jobs.runners.local:LocalRunner",
    "api.services.jobs.runners.docker:DockerRunner",
    "api.services.jobs.runners.modal:ModalRunner",
)

RUNNERS: dict[str, type[Runner]] = {}
R = TypeVar("R", bound=type[Runner])


def register_runner(runner: R) -> R:
    """Make `runner` dispatchable by its name. Its settings must already be Settings
    fields: those of a runner registered after api.settings was imported are not read
    (the built-in runners are registered before)."""
    if getattr(runner, "name", "") in ("", None):
        raise ValueError(f"{runner.__qualname__} has no name")
    RUNNERS[runner.name] = runner
    return runner


for _target in _BUILT_IN:
    _module, _cls = _target.split(":")
    register_runner(getattr(importlib.import_module(_module), _cls))


def runner_settings() -> tuple[type[RunnerSettings], ...]:
    """The settings models the registered runners declare, each once (the bases
    api/settings.py composes Settings of)."""
    models = (r.settings_model for r in RUNNERS.values())
    return tuple(dict.fromkeys(m for m in models if m is not RunnerSettings))


def _literal_error() -> PydanticCustomError:
    # The error a Literal of the names gave, so a client sees the same 422 as before.
    names = [repr(n) for n in RUNNERS]
    expected = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return PydanticCustomError(
        "literal_error", "Input should be {expected}", {"expected": expected}
    )


def known_runner(value: object) -> str:
    """`value` when it names a registered runner; a `literal_error` otherwise."""
    if isinstance(value, str) and value in RUNNERS:
        return value
    raise _literal_error()


class _RegisteredName:
    """Validates against RUNNERS as it is when a value comes (so a runner registered
    later is accepted) and shows as an enum of the names in JSON schemas, as a Literal
    did: the web console's types are generated from the OpenAPI document."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(known_runner)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"enum": list(RUNNERS), "type": "string"}


# A registered runner's name, wherever a request or a setting names one.
RunnerName = Annotated[str, _RegisteredName()]


def get_runner(name: str, settings: Settings) -> Runner:
    """The runner called `name`; RunnerUnavailable when there is none by that name."""
    runner = RUNNERS.get(name)
    if runner is None:
        raise RunnerUnavailable(f"No runner called {name!r}; known: {', '.join(sorted(RUNNERS))}")
    return runner(settings)


def stop_run(settings: Settings, runner: str | None, ref: str | None) -> None:
    """Stop a run through its runner (by force after the runner's grace period), if it
    has one. A run that already ended is not an error, nor is a runner that cannot be
    reached: the run's next callback is answered `cancel` or refused as superseded."""
    if not runner or not ref:
        return
    with contextlib.suppress(RunnerUnavailable):
        get_runner(runner, settings).cancel(ref)


__all__ = [
    "RUNNERS",
    "Runner",
    "RunnerName",
    "RunnerSettings",
    "RunnerUnavailable",
    "get_runner",
    "known_runner",
    "register_runner",
    "runner_settings",
    "stop_run",
]
