# ruff: noqa: E501  (command lines read better whole)
"""A real Docker engine for the Docker runner's tests, started in a temporary folder,
and the worker images built on it (../shared/DOCKER-NOTES.md). No registry can be
reached: the base image is a debootstrap rootfs, imported, cached between runs.

Two images: the small torch-free one (infra/Dockerfile.worker-test) and the real one
(infra/Dockerfile.worker: torch and the worker extra, ~7 GB), built from a wheelhouse
made outside the build (scripts/worker_wheelhouse.sh) and served to it over loopback.
Building the real one takes minutes, so the engine that built it leaves its data root
behind as a template (keyed on that Dockerfile and the requirements it installs) and
later engines start on a hard-linked copy of it: the build then finds every heavy layer
in its cache and only redoes the layers of the code. The template is only a cache: what the build
reuses is decided by Docker's own build cache, never by the key."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("VAP_DOCKER_CACHE", Path.home() / ".cache" / "vap" / "docker"))
BASE_IMAGE = "vap-test-base:bookworm"
TEST_IMAGE = "vap-worker-test:latest"
WORKER_IMAGE = "vap-worker:test"
# What infra/Dockerfile.worker copies from the repository.
WORKER_CONTEXT = ("pyproject.toml", "contract", "functions", "trainers", "exporters", "vap_runtime")
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


def worker_key() -> str:
    """What the real worker image's heavy layers depend on: its Dockerfile and the
    requirements it installs (the project's dependencies and the worker extra)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["worker"]
    digest = hashlib.sha256((ROOT / "infra" / "Dockerfile.worker").read_bytes())
    digest.update("\n".join(requirements).encode())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _locked(name: str, exclusive: bool) -> Iterator[None]:
    """A lock shared by every test session on this machine."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".lock-{name}", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield


def _template(key: str) -> Path:
    return CACHE / f"engine-{key}"


def _clone(template: Path, root: Path) -> None:
    """A copy of an engine's data root whose files are hard links to the template's:
    seconds for gigabytes. The image layers are only ever read (a container writes to a
    new upper directory); the engine's databases are written in place, so they are
    copied for real, and everything else the engine writes it replaces by renaming."""
    _run("cp", "-a", "--link", str(template), str(root))
    databases = _run("find", str(root), "-name", "*.db", "-type", "f").stdout.splitlines()
    for db in map(Path, databases):
        tmp = db.with_name(db.name + ".copy")
        shutil.copy2(db, tmp)
        tmp.replace(db)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _serve(directory: Path, port: int) -> Iterator[str]:
    """`directory` over HTTP on loopback, where a build with --network host reaches it."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as e:
        raise RuntimeError(f"cannot serve the wheelhouse on 127.0.0.1:{port}: {e}") from None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.shutdown()
        server.server_close()


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
        # Start on the real worker image's template when there is one for this key.
        self.from_template = False
        self.save_template = ""  # the key to keep this engine's data root under, once stopped
        template = _template(worker_key())
        if template.is_dir() and os.stat(template).st_dev == os.stat(self.dir).st_dev:
            with _locked("templates", exclusive=False):
                if template.is_dir():
                    _clone(template, self.dir / "root")
                    self.from_template = True
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

    def _ensure_base(self) -> None:
        # Imported once per data root: every import is a new image, which no build cache knows.
        if (
            subprocess.run(
                ["docker", "image", "inspect", BASE_IMAGE], capture_output=True, env=self.env
            ).returncode
            == 0
        ):
            return
        with open(_base_tarball(), "rb") as f:
            subprocess.run(
                ["docker", "import", "-", BASE_IMAGE],
                stdin=f,
                env=self.env,
                check=True,
                capture_output=True,
            )

    def build_test_image(self) -> str:
        self._ensure_base()
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

    def build_worker_image(self) -> str:
        """The real worker image (infra/Dockerfile.worker) on the debootstrap base, its
        wheels from the wheelhouse; its tag. Minutes on an engine without the template,
        seconds on one with it (then only the layers of the code are rebuilt)."""
        self._ensure_base()
        # Downloaded by this interpreter's pip (tomllib: Python 3.11+), for the image's Python.
        wheelhouse = _run(
            str(ROOT / "scripts" / "worker_wheelhouse.sh"),
            env={**os.environ, "PYTHON": sys.executable},
            timeout=1800,
        )
        context = self.dir / "worker-context"
        context.mkdir()
        for name in WORKER_CONTEXT:
            if (ROOT / name).is_dir():
                shutil.copytree(
                    ROOT / name, context / name, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy(ROOT / name, context / name)
        shutil.copy(ROOT / "infra" / "Dockerfile.worker", context / "Dockerfile")
        # The wheelhouse's URL is part of the install step's cache key: the same port for
        # the same key, and one build at a time on this machine so that the port is free.
        key = worker_key()
        port = 20000 + int(key[:8], 16) % 20000
        with (
            _locked("worker-build", exclusive=True),
            _serve(Path(wheelhouse.stdout.strip()), port) as url,
        ):
            _run(
                "docker", "build", "--network", "host", "--build-arg", f"BASE={BASE_IMAGE}",
                "--build-arg", f"WHEELHOUSE={url}", "-t", WORKER_IMAGE, str(context),
                env=self.env, timeout=3600,
            )  # fmt: skip
        if not self.from_template:
            self.save_template = key
        return WORKER_IMAGE

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
        if self.save_template and self.proc.returncode is not None:
            self._save_template()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _save_template(self) -> None:
        """Keep this engine's data root, which holds the real worker image, for the next
        engines; older templates go."""
        root = self.dir / "root"
        with open("/proc/mounts") as f:
            if str(root) in f.read():  # the engine left something mounted: not a clean copy
                return
        template = _template(self.save_template)
        with _locked("templates", exclusive=True):
            if not template.exists():
                root.rename(template)
            for old in CACHE.glob("engine-*"):
                if old != template and old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
