"""The local runner (the default): `python -m functions.<name> SPEC_FILE` as a child
process of the API, in its own process group so cancel stops everything it started.

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

from api.services.jobs.runners.base import Runner, RunnerUnavailable, RunState
from api.settings import Settings
from contract.jobs import FUNCTION_FOR_KIND, JobSpec

_SECRET_PREFIXES = ("DATABASE_", "SECRET_KEY", "S3_", "AWS_", "ANTHROPIC_", "MODAL_TOKEN")
_GRACE_SECONDS = 5.0
_PROJECT_ROOT = Path(__file__).resolve().parents[4]


def worker_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_SECRET_PREFIXES)}
    # The functions package must be importable however the API was started.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PROJECT_ROOT), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class LocalRunner(Runner):
    name = "local"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

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
                [sys.executable, "-m", f"functions.{FUNCTION_FOR_KIND[spec.kind]}", str(spec_file)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=worker_environment(),
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
