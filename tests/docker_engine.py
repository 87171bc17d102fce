# ruff: noqa: E501  (command lines read better whole)
"""A real Docker engine for the Docker runner's tests, started in a temporary folder,
and the small worker image built on it (../shared/DOCKER-NOTES.md). No registry can be
reached: the base image is a debootstrap rootfs, imported, cached between runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("VAP_DOCKER_CACHE", Path.home() / ".cache" / "vap" / "docker"))
TEST_IMAGE = "vap-worker-test:latest"
MIRROR = "http://deb.debian.org/debian"


def _run(
    *args: str, env: dict | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[:3])} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return result


def _base_tarball() -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / "bookworm-python-minbase.tar"
    if tarball.exists():
        return tarball
    with tempfile.TemporaryDirectory(prefix="vap-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        _run(
            "debootstrap",
            "--variant=minbase",
            "--include=python3,python3-venv,ca-certificates",
            "bookworm",
            str(rootfs),
            MIRROR,
            timeout=900,
        )
        partial = tarball.with_suffix(".partial")
        _run("tar", "-C", str(rootfs), "-cf", str(partial), ".")
        partial.rename(tarball)
    return tarball


class Engine:
    def __init__(self) -> None:
        missing = [
            tool for tool in ("dockerd", "docker", "debootstrap") if shutil.which(tool) is None
        ]
        if missing:
            raise RuntimeError(
                f"{', '.join(missing)} not installed: test.sh installs docker.io and debootstrap "
                "(apt-get install -y --no-install-recommends docker.io debootstrap)"
            )
        self.dir = Path(tempfile.mkdtemp(prefix="vap-docker-", dir="/tmp"))
        self.sock = self.dir / "docker.sock"
        self.host = f"unix://{self.sock}"
        self.env = {**os.environ, "DOCKER_HOST": self.host, "DOCKER_BUILDKIT": "0"}
        log = open(self.dir / "dockerd.log", "wb")  # noqa: SIM115 - lives as long as the engine
        self.proc = subprocess.Popen(
            ["dockerd", "--data-root", str(self.dir / "root"), "--exec-root", str(self.dir / "exec"),
             "-H", self.host, "--pidfile", str(self.dir / "dockerd.pid"),
             "--iptables=false", "--ip6tables=false", "--bridge=none"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        for _ in range(100):
            if (
                subprocess.run(["docker", "info"], capture_output=True, env=self.env).returncode
                == 0
            ):
                break
            time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError((self.dir / "dockerd.log").read_text()[-3000:])

    def build_test_image(self) -> str:
        with open(_base_tarball(), "rb") as f:
            subprocess.run(
                ["docker", "import", "-", "vap-test-base:bookworm"],
                stdin=f,
                env=self.env,
                check=True,
                capture_output=True,
            )
        context = self.dir / "context"
        context.mkdir()
        shutil.copytree(
            ROOT / "contract", context / "contract", ignore=shutil.ignore_patterns("__pycache__")
        )
        shutil.copytree(
            ROOT / "functions", context / "functions", ignore=shutil.ignore_patterns("__pycache__")
        )
        shutil.copy("/etc/ssl/certs/ca-certificates.crt", context / "ca-certificates.crt")
        shutil.copy(ROOT / "infra" / "Dockerfile.worker-test", context / "Dockerfile")
        _run("docker", "build", "--network", "host", "-t", TEST_IMAGE, str(context), env=self.env)
        return TEST_IMAGE

    def containers(self, label: str, running_only: bool = False) -> list[str]:
        flags = ["--quiet"] if running_only else ["--all", "--quiet"]
        out = _run("docker", "ps", *flags, "--filter", f"label={label}", env=self.env)
        return out.stdout.split()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        subprocess.run(
            ["umount", str(self.dir / "exec" / "netns" / "default")], capture_output=True
        )
        shutil.rmtree(self.dir, ignore_errors=True)
