"""The Docker runner: one container per attempt of the worker image (`infra/`), named
after the job so cancel and status find it; `--gpus` only when the job asks for a GPU:
the devices admission gave it, else the count it asked for. Talks to the engine through
the `docker` CLI (DOCKER_HOST selects the engine).

The spec goes in as the VAP_JOB_SPEC environment variable: the container needs no
shared folder, no credentials, only a route to the API's callback URL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import TYPE_CHECKING

from api.services.jobs.runners.base import (
    CAPABILITIES_TIMEOUT,
    Runner,
    RunnerSettings,
    RunnerUnavailable,
    RunState,
    read_report,
)
from contract.capabilities import GpuRequest, WorkerCapabilities
from contract.jobs import JobSpec

if TYPE_CHECKING:
    from api.settings import Settings

_CLI_TIMEOUT = 60.0
_STOP_GRACE = 10  # seconds between SIGTERM (the function may checkpoint) and SIGKILL


_NO_GPU_RUNTIME = "capabilities: [[gpu]]"  # the engine's error when it has no NVIDIA runtime


def container_name(spec: JobSpec) -> str:
    return f"vap-job-{spec.job_id}-a{spec.attempt}"


def gpus_flag(spec: JobSpec) -> str | None:
    """`docker run --gpus`'s value for the job: its devices, else the count it asked."""
    resources = spec.resources
    if not resources.gpu:
        return None
    if resources.gpu_devices:
        # The quotes are Docker's own syntax for a list of devices.
        return '"device=' + ",".join(map(str, resources.gpu_devices)) + '"'
    return str(GpuRequest.parse(resources.gpu).count)


class DockerSettings(RunnerSettings):
    # The worker image (infra/Dockerfile.worker) and its network.
    docker_image: str = "vap-worker:latest"
    docker_network: str = "host"  # the containers reach API_BASE_URL through it


class DockerRunner(Runner):
    name = "docker"
    settings_model = DockerSettings

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.config = DockerSettings.of(settings)

    def _docker(
        self, *args: str, timeout: float = _CLI_TIMEOUT, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        if shutil.which("docker") is None:
            raise RunnerUnavailable("The docker CLI is not installed on the API's machine")
        try:
            return subprocess.run(
                ["docker", *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                env={**os.environ, **(env or {})},
            )
        except subprocess.TimeoutExpired:
            raise RunnerUnavailable(
                f"docker {args[0]} did not answer within {timeout:g} s"
            ) from None

    def submit(self, spec: JobSpec) -> str:
        name = container_name(spec)
        args = ["run", "--detach", "--rm", "--name", name, "--label", f"vap.job={spec.job_id}"]
        args += ["--network", self.config.docker_network]
        gpus = gpus_flag(spec)
        if gpus:
            args += ["--gpus", gpus]
        if spec.resources.memory_mb:
            args += ["--memory", f"{spec.resources.memory_mb}m"]
        args += ["--env", "VAP_JOB_SPEC", self.config.docker_image]
        # The spec (with its token) goes through the environment, not the command line.
        result = self._docker(*args, env={"VAP_JOB_SPEC": spec.model_dump_json()})
        if result.returncode != 0:
            error = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no output"
            if _NO_GPU_RUNTIME in result.stderr:
                error = (
                    f"the job asks for a GPU and this Docker engine has no NVIDIA runtime ({error})"
                )
            self._docker("rm", "--force", name)  # a failed --gpus run leaves a Created container
            raise RunnerUnavailable(f"docker run failed: {error}")
        return name

    def capabilities(self) -> WorkerCapabilities:
        """Asked of the worker image: `docker run --rm IMAGE capabilities`, given every
        GPU the engine has so the report lists them; without, when it has no NVIDIA
        runtime (the report then says the workers see no GPU)."""
        image = self.config.docker_image
        where = f"The worker image {image}"
        base = ["run", "--rm", "--network", "none", "--label", "vap.capabilities=1"]
        result = self._docker(*base, "--gpus", "all", image, "capabilities",
                              timeout=CAPABILITIES_TIMEOUT)  # fmt: skip
        if result.returncode != 0 and _NO_GPU_RUNTIME in result.stderr:
            result = self._docker(*base, image, "capabilities", timeout=CAPABILITIES_TIMEOUT)
        if result.returncode != 0:
            error = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise RunnerUnavailable(f"{where} could not be run: {error}")
        return read_report(result.stdout, where)

    def cancel(self, ref: str) -> None:
        result = self._docker("stop", "--time", str(_STOP_GRACE), ref, timeout=_STOP_GRACE + 30)
        if result.returncode != 0 and "No such container" not in result.stderr:
            raise RunnerUnavailable(f"docker stop failed: {result.stderr.strip()}")

    def status(self, ref: str) -> RunState:
        try:
            result = self._docker("inspect", "--format", "{{.State.Running}}", ref)
        except RunnerUnavailable:
            return "unknown"
        if result.returncode == 0:
            return "running" if result.stdout.strip() == "true" else "exited"
        if "No such" in result.stderr:  # --rm removed it: it has ended
            return "exited"
        return "unknown"  # the engine did not answer
