"""Where functions run. Each runner implements `Runner`; adding one is adding a module
and a line in RUNNERS. The rest of the system never knows which runner ran a job."""

from __future__ import annotations

import contextlib

from api.services.jobs.runners.base import Runner, RunnerUnavailable
from api.settings import Settings

RUNNERS = {
    "local": "api.services.jobs.runners.local:LocalRunner",
    "docker": "api.services.jobs.runners.docker:DockerRunner",
    "modal": "api.services.jobs.runners.modal:ModalRunner",
}


def get_runner(name: str, settings: Settings) -> Runner:
    """The runner called `name`; RunnerUnavailable when there is none by that name."""
    import importlib

    target = RUNNERS.get(name)
    if target is None:
        raise RunnerUnavailable(f"No runner called {name!r}; known: {', '.join(sorted(RUNNERS))}")
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)(settings)  # type: ignore[no-any-return]


def stop_run(settings: Settings, runner: str | None, ref: str | None) -> None:
    """Stop a run through its runner (by force after the runner's grace period), if it
    has one. A run that already ended is not an error, nor is a runner that cannot be
    reached: the run's next callback is answered `cancel` or refused as superseded."""
    if not runner or not ref:
        return
    with contextlib.suppress(RunnerUnavailable):
        get_runner(runner, settings).cancel(ref)


__all__ = ["RUNNERS", "Runner", "RunnerUnavailable", "get_runner", "stop_run"]
