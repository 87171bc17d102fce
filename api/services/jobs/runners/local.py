"""The local runner (the default): `python -m functions SPEC_FILE` as a child
process of the API, in its own process group so cancel stops everything it started.

The worker interpreter is LOCAL_WORKER_PYTHON when set: a Python of its own worker
environment (the project with the `worker` extra), so the API's can stay `.[api]` only,
the shape it is deployed in. Unset, it is the API's own interpreter with this checkout.
The child gets the spec and nothing else: the API's database URL, secret key and
storage credentials are removed from its environment.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from api.services.jobs.runners.base import (
    CAPABILITIES_TIMEOUT,
    Runner,
    RunnerSettings,
    RunnerUnavailable,
    RunState,
    read_report,
)
from contract.capabilities import WorkerCapabilities
from contract.jobs import JobSpec

if TYPE_CHECKING:
    from api.settings import Settings

_SECRET_PREFIXES = ("DATABASE_", "SECRET_KEY", "S3_", "AWS_", "ANTHROPIC_", "MODAL_TOKEN")
_GRACE_SECONDS = 5.0
_PROJECT_ROOT = Path(__file__).resolve().parents[4]


def worker_environment(own_interpreter: bool = True) -> dict[str, str]:
    """The API's environment without its secrets. With the API's own interpreter the
    functions come from this checkout, however the API was started; a worker
    interpreter of its own imports them from its own environment, and nothing of the
    API's (its PYTHONPATH included) may shadow that."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_SECRET_PREFIXES)}
    if own_interpreter:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_PROJECT_ROOT), env.get("PYTHONPATH")) if p
        )
    else:
        env.pop("PYTHONPATH", None)
        env.pop("PYTHONHOME", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class LocalSettings(RunnerSettings):
    # The local runner's worker interpreter: a Python whose environment has the project
    # with the worker extra (pip install -e '.[worker]'), so the API's own environment
    # can stay `.[api]` only. Empty: the API's own interpreter, with this checkout.
    local_worker_python: str = ""


class LocalRunner(Runner):
    name = "local"
    settings_model = LocalSettings

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        worker_python = LocalSettings.of(settings).local_worker_python
        self.python = worker_python or sys.executable
        self.env = worker_environment(own_interpreter=not worker_python)

    def _folder(self, spec: JobSpec) -> Path:
        return Path(self.settings.data_dir).resolve() / "jobs" / spec.job_id

    def submit(self, spec: JobSpec) -> str:
        folder = self._folder(spec)
        folder.mkdir(parents=True, exist_ok=True)
        spec_file = folder / f"attempt-{spec.attempt}.json"
        spec_file.write_text(spec.model_dump_json())
        spec_file.chmod(0o600)  # it holds the callback token
        log = open(folder / f"attempt-{spec.attempt}.log", "ab")  # noqa: SIM115 - the child owns it
        try:
            proc = subprocess.Popen(
                [self.python, "-m", "functions", str(spec_file)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env_for(spec),
                cwd=folder,
                start_new_session=True,
            )
        except OSError as exc:
            raise RunnerUnavailable(f"Could not start a local worker process: {exc}") from exc
        finally:
            log.close()
        # Reap the child when it exits, so it never lingers as a zombie.
        threading.Thread(target=proc.wait, daemon=True).start()
        # The host too: another API replica must not mistake this pid for one of its own.
        return f"{socket.gethostname()}:{proc.pid}"

    def _env_for(self, spec: JobSpec) -> dict[str, str]:
        if spec.resources.gpu_devices is None:
            return self.env
        # The devices the API picked for this job's GPU request, and no others.
        return {**self.env, "CUDA_VISIBLE_DEVICES": ",".join(map(str, spec.resources.gpu_devices))}

    def capabilities(self) -> WorkerCapabilities:
        """Asked of the worker interpreter itself: `python -m functions capabilities`."""
        where = f"The local worker interpreter {self.python}"
        try:
            done = subprocess.run(
                [self.python, "-m", "functions", "capabilities"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                env=self.env,
                timeout=CAPABILITIES_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RunnerUnavailable(f"{where} could not be run: {exc}") from None
        if done.returncode != 0:
            error = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RunnerUnavailable(f"{where} failed (exit {done.returncode}): {error}")
        return read_report(done.stdout, where)

    @staticmethod
    def _pid(ref: str) -> int | None:
        """The pid of a run started on this host; None for another host's."""
        host, _, pid = ref.rpartition(":")
        return int(pid) if host == socket.gethostname() and pid.isdigit() else None

    def cancel(self, ref: str) -> None:
        pid = self._pid(ref)
        if pid is None:
            raise RunnerUnavailable(f"Run {ref} was started on another host")
        try:
            os.killpg(pid, signal.SIGTERM)  # the function stops at its next step
        except ProcessLookupError:
            return
        deadline = time.monotonic() + _GRACE_SECONDS
        while time.monotonic() < deadline:
            if self.status(ref) != "running":
                return
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)

    def status(self, ref: str) -> RunState:
        pid = self._pid(ref)
        if pid is None:
            return "unknown"
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return "exited"
        # A zombie (state Z) has exited but is not yet reaped.
        return "exited" if stat.rsplit(")", 1)[-1].split()[0] == "Z" else "running"
