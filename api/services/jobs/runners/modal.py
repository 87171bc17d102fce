"""The Modal runner: `modal.Function.from_name(app, name).spawn(spec)`; the FunctionCall
id is the run's reference, to cancel or poll it by.

Every call to Modal is bounded: with a token but no route to Modal, `spawn` hangs about
a minute before failing; without a token it raises AuthError at once. Either way the
job fails at once with the reason. `modal` is imported only here, only when used.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import Field

from api.services.jobs.runners.base import (
    CAPABILITIES_TIMEOUT,
    Runner,
    RunnerSettings,
    RunnerUnavailable,
    RunState,
    read_report,
)
from contract.capabilities import GpuRequest, WorkerCapabilities
from contract.jobs import FUNCTION_FOR_KIND, JobSpec

if TYPE_CHECKING:
    from api.settings import Settings

T = TypeVar("T")
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="modal-call")


class ModalClient(Protocol):
    """The two look-ups the runner makes; Modal's own client by default."""

    def function(self, app_name: str, name: str, environment: str | None) -> Any: ...
    def call(self, call_id: str) -> Any: ...


class _Modal:
    def function(self, app_name: str, name: str, environment: str | None) -> Any:
        import modal

        return modal.Function.from_name(app_name, name, environment_name=environment)

    def call(self, call_id: str) -> Any:
        import modal

        return modal.FunctionCall.from_id(call_id)


def modal_gpu(request: str) -> str:
    """A GPU request as Modal's `gpu=` reads it: "T4", "H100:2" (admission has replaced
    "any" with the deployed app's default type)."""
    return str(GpuRequest.parse(request))


# Where the runner finds Modal. Tests put a stand-in here (Modal's cloud is out of reach).
client_factory: Callable[[], ModalClient] = _Modal


class ModalSettings(RunnerSettings):
    """The deployed app (modal_app.py) and how long any call may take: the runner's and
    the GPU endpoint's (api/services/endpoint/gpu.py), which calls the same app."""

    modal_app_name: str = "vision-ai-platform"
    modal_environment: str = ""
    modal_call_timeout_seconds: float = Field(default=20.0, gt=0)


class ModalRunner(Runner):
    name = "modal"
    settings_model = ModalSettings

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.config = ModalSettings.of(settings)
        self.client = client_factory()

    def _bounded(self, what: str, fn: Callable[[], T], timeout: float | None = None) -> T:
        timeout = timeout or self.config.modal_call_timeout_seconds
        future = _pool.submit(fn)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            raise RunnerUnavailable(
                f"Modal did not answer {what} within {timeout:g} s "
                "(is this machine able to reach Modal?)"
            ) from None
        except RunnerUnavailable:
            raise
        except Exception as exc:  # AuthError, NotFoundError, connection errors, ...
            raise RunnerUnavailable(f"Modal refused {what}: {type(exc).__name__}: {exc}") from exc

    def submit(self, spec: JobSpec) -> str:
        name = FUNCTION_FOR_KIND[spec.kind]
        app, env = self.config.modal_app_name, self.config.modal_environment or None

        def spawn() -> str:
            function = self.client.function(app, name, env)
            if spec.resources.gpu:  # the deployed function's GPU is only its default
                function = function.with_options(gpu=modal_gpu(spec.resources.gpu))
            return str(function.spawn(spec.model_dump(mode="json")).object_id)

        return self._bounded(f"spawn of {app}.{name}", spawn)

    def capabilities(self) -> WorkerCapabilities:
        """The deployed app's `capabilities` function: its image's own table, with the
        GPU types its functions may be given (modal_app.py)."""
        app, env = self.config.modal_app_name, self.config.modal_environment or None

        def ask() -> WorkerCapabilities:
            report = self.client.function(app, "capabilities", env).remote()
            return read_report(json.dumps(report), f"Modal's {app}.capabilities")

        # A cold container of the worker image takes longer than a spawn.
        timeout = max(CAPABILITIES_TIMEOUT, self.config.modal_call_timeout_seconds)
        return self._bounded(f"capabilities of {app}", ask, timeout)

    def cancel(self, ref: str) -> None:
        self._bounded("cancel", lambda: self.client.call(ref).cancel(terminate_containers=True))

    def status(self, ref: str) -> RunState:
        def poll() -> RunState:
            try:
                self.client.call(ref).get(timeout=0)
            except TimeoutError:
                return "running"
            except Exception:
                return "exited"  # it ended badly; the reconciler decides what that means
            return "exited"

        try:
            return self._bounded("status", poll)
        except RunnerUnavailable:
            return "unknown"
