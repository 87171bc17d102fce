"""Builds the API's AWS Lambda deployment package, as `sam build` would, but checked.

    python scripts/lambda_package.py [--out build/lambda] [--fresh]
    sam deploy -t infra/template.yaml --guided        # CodeUri: build/lambda/package

The package is this project's wheel with the `api` extra (DESIGN.md, "Two deployable
units") and the client of the runner the template dispatches to (`modal`: see EXTRAS),
installed for the Lambda runtime's Python and glibc: the folder `OUT/package` (what
CodeUri names) and `OUT/package.zip` (the same, for a console or CLI upload). It prints
both sizes and exits non-zero when the unzipped size is over AWS's limit or a binary
needs a newer glibc than the runtime has. What it leaves out of what those extras
install, and why, is listed below (PRUNED_*, BOTOCORE_SERVICES).

The runtime is python3.12, on Amazon Linux 2023 (glibc 2.34), not python3.11: that one
runs on Amazon Linux 2 (glibc 2.26), and onnxruntime has published no wheel for glibc
2.26 since 1.16.3 (1.17 to 1.28 need glibc 2.27, later ones 2.28), while the endpoint
runs exports of opset up to 21 (api/schemas/exports.py), which needs 1.18 or newer.

Third-party packages are resolved once per requirement list (the project's and the
extras') and target, and kept under ~/.cache/vap/lambda (`--fresh` resolves
again); each build then only rebuilds this project's wheel.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTION = "vision_ai_platform"  # this project's wheel, as pip names it

# infra/template.yaml: `Runtime: python3.12`, which runs on Amazon Linux 2023.
RUNTIME_PYTHON = "3.12"
RUNTIME_GLIBC = (2, 34)
# AWS: a function's code, unzipped, layers included, may be at most this many bytes.
UNZIPPED_LIMIT = 262_144_000
# What the API imports of this project (DESIGN.md: `api` never imports functions,
# trainers or exporters; vap_client is the users' SDK). The wheel holds all seven
# packages; the Lambda gets these three.
SHIPPED_PACKAGES = ("api", "contract", "vap_runtime")
# The extras installed. infra/template.yaml runs the API with EXECUTION_BACKEND=modal, and
# the Modal runner imports Modal's client when it dispatches a job (and to cancel, poll
# or ask for capabilities: api/services/jobs/runners/modal.py): without it every job on
# the deployed API failed with "Modal refused spawn: ModuleNotFoundError". `modal` is
# the client only: 20 MB with what it adds (aiohttp, grpclib, cbor2, ...), no worker code.
EXTRAS = ("api", "modal")
# Modules that the first request of their kind imports, not the cold start: their
# bytecode is shipped too (_compile_cold_start), about 4.7 MB for `modal`'s, which
# saves each new Lambda instance compiling Modal's client on its first dispatch
# (1.4 s against 4.8 s for `import modal` and the spawn on a loaded 2-core machine).
# Every first request loads its route module (api/routing.py), and with it PyJWT (the
# login check) and pydantic.v1 (FastAPI imports it while building routes); both were
# shipped compiled when route modules loaded with the app.
FIRST_USE_IMPORTS = ("modal", "jwt", "pydantic.v1")

# Distributions that the extras pull in but nothing can use on Lambda. Each is removed
# file by file, from its own RECORD, so nothing of it is left half there.
PRUNED_DISTRIBUTIONS = {
    # uvicorn[standard]'s speed-ups for uvicorn's own server (`vap serve`): its event
    # loop, HTTP parser and --reload file watcher. On Lambda there is no server: Mangum
    # calls the ASGI app itself, on asyncio, and uvicorn falls back without them.
    "uvloop": "uvicorn's event loop; Mangum runs the app on asyncio",
    "httptools": "uvicorn's HTTP parser; API Gateway parses HTTP, Mangum reads events",
    # `modal` requires it too, for `modal serve`'s file watcher only (modal/_watcher.py,
    # imported by modal.serving): the runner spawns deployed functions, it serves none.
    "watchfiles": "uvicorn --reload and `modal serve`; Lambda code never changes",
}
# Folders (globs under the installed tree) that nothing on Lambda reads.
PRUNED_FOLDERS = {
    # pip --target writes console scripts whose first line names the build machine's
    # Python; the Lambda runtime starts no scripts, it imports the handler.
    "bin": "console scripts for the build machine's interpreter",
    # Bytecode that pip compiled with the build machine's Python (pip runs with
    # --no-compile, but a wheel may carry some); see _compile_cold_start for the
    # bytecode this package does ship.
    "**/__pycache__": "bytecode of another interpreter",
    # numpy's own test suite (6.7 MB), run by numpy.test(), never by an import.
    "numpy/**/tests": "numpy's test suite",
    # onnxruntime's offline model tooling (3.8 MB): the transformer optimizer, the
    # quantizer and the model converters, run as `python -m onnxruntime.<tool>` on a
    # machine that exports models (most of them need `onnx` or torch, neither of which is
    # here). The endpoint only loads and runs models (onnxruntime.InferenceSession,
    # api/services/endpoint/sessions.py), and onnxruntime's own modules never import
    # these (only a CUDA build's print_debug_info reaches into .transformers).
    "onnxruntime/transformers": "onnxruntime's transformer-model optimizer",
    "onnxruntime/quantization": "onnxruntime's model quantizer",
    "onnxruntime/tools": "onnxruntime's model conversion and checking tools",
}
# botocore ships the model of every AWS service (24 MB; 450-odd of them). A client loads
# only its own service's model (and botocore's top-level files: endpoints, partitions,
# retry rules, defaults, all kept). The API makes one kind of client, S3's
# (api/services/storage/s3.py, the only module that imports boto3); botocore itself makes
# a client of another service only to resolve credentials, the services below, all kept
# so that every credential source works as it does with the whole botocore (on Lambda the
# runtime's role credentials come from environment variables, which need none of them).
# _check_botocore_clients fails the build when a botocore names a client that is not kept.
BOTOCORE_SERVICES = {
    "s3": "the storage backend (AWS S3, R2, MinIO), S3 Express sessions included",
    "sts": "assume-role and web-identity credentials (AWS_ROLE_ARN, a profile's role_arn)",
    "sso": "IAM Identity Center (SSO) credentials of a profile",
    "sso-oidc": "refreshing an SSO profile's token",
    "signin": "`aws login` credentials of a profile",
}


# Part of the dependency cache's key: bump it when _install changes what it makes.
_CACHE_FORMAT = 2


@dataclass(frozen=True)
class Built:
    package: Path  # the folder CodeUri names
    archive: Path  # the same, zipped
    unzipped_bytes: int
    zipped_bytes: int
    max_glibc: tuple[int, int]  # the newest glibc version any binary in it needs
    bytecode: bool  # whether it ships bytecode for what a cold start imports


class PackageError(Exception):
    """The package cannot be deployed as built (too large, or needs a newer glibc)."""


def cache_root() -> Path:
    return Path(os.environ.get("VAP_LAMBDA_CACHE", Path.home() / ".cache" / "vap" / "lambda"))


def build(
    out: Path,
    python_version: str = RUNTIME_PYTHON,
    glibc: tuple[int, int] = RUNTIME_GLIBC,
    fresh: bool = False,
) -> Built:
    """Builds `out/package` and `out/package.zip` for CPython `python_version` on a
    Linux x86_64 whose glibc is `glibc` (replacing whatever was there), with bytecode
    when this machine has an interpreter of that version (runtime_python).

    Raises PackageError when the unzipped package is over AWS's limit, and
    subprocess.CalledProcessError when pip cannot resolve or install it.
    """
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    package, archive = out / "package", out / "package.zip"
    with tempfile.TemporaryDirectory(prefix="vap-lambda-") as tmp:
        wheel = project_wheel(Path(tmp))
        deps, max_glibc = dependencies(wheel, python_version, glibc, fresh)
        shutil.rmtree(package, ignore_errors=True)
        # Hard links: the cached tree is never written to, and 250 MB is not copied.
        shutil.copytree(deps, package, copy_function=_link_or_copy, symlinks=True)
        _unpack_project(wheel, package)
    bytecode = _compile_cold_start(package, runtime_python(python_version))
    unzipped = tree_size(package)
    if unzipped > UNZIPPED_LIMIT:
        raise PackageError(
            f"{package} is {unzipped / 1e6:.1f} MB unzipped; AWS Lambda allows"
            f" {UNZIPPED_LIMIT / 1e6:.1f} MB"
        )
    zip_folder(package, archive)
    return Built(package, archive, unzipped, archive.stat().st_size, max_glibc, bytecode)


def project_wheel(workdir: Path) -> Path:
    """This project's wheel, built from a copy of the packaged sources: setuptools
    reuses its build/ folder, where a module deleted from the checkout would live on."""
    source = workdir / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for folder in ROOT.iterdir():
        if (folder / "__init__.py").is_file():
            shutil.copytree(
                folder, source / folder.name, ignore=shutil.ignore_patterns("__pycache__")
            )
    # The project's own virtualenv has the build backend (scripts/venv.sh): building
    # with it skips pip's isolated environment, seconds of every build.
    no_isolation = ["--no-build-isolation"] if _has_build_backend() else []
    _pip("wheel", "--no-deps", *no_isolation, "--wheel-dir", str(workdir), str(source))
    return next(workdir.glob(f"{DISTRIBUTION}-*.whl"))


def _has_build_backend() -> bool:
    """Whether this interpreter has what building the wheel needs: pyproject.toml's
    setuptools>=69, and from 70.1 on, which builds wheels without the `wheel` package."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        major, minor = (int(n) for n in version("setuptools").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return False
    return (major, minor) >= (70, 1)


def dependencies(
    wheel: Path, python_version: str, glibc: tuple[int, int], fresh: bool = False
) -> tuple[Path, tuple[int, int]]:
    """The third-party packages of `wheel[EXTRAS]` for the target, pruned, from the
    cache (keyed on the requirements they come from, the target and the recipe); the
    newest glibc they need."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    recipe = [
        project["dependencies"],
        *(project["optional-dependencies"][extra] for extra in EXTRAS),
        *(_CACHE_FORMAT, python_version, glibc, PRUNED_DISTRIBUTIONS, PRUNED_FOLDERS),
        BOTOCORE_SERVICES,
    ]
    key = hashlib.sha256(json.dumps(recipe).encode())
    cached = cache_root() / f"py{python_version}-{key.hexdigest()[:16]}"
    cached.parent.mkdir(parents=True, exist_ok=True)
    with open(cached.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two builds at once resolve once
        done = cached / "max_glibc.json"
        if fresh or not done.is_file():
            shutil.rmtree(cached, ignore_errors=True)
            staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cached.parent))
            try:
                _install(wheel, staging / "site", python_version, glibc)
                needed = _check_glibc(staging / "site", glibc)
                (staging / "max_glibc.json").write_text(json.dumps(needed))
                staging.rename(cached)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            # Older resolutions for this Python are dead weight (as in scripts/venv.sh).
            for old in cached.parent.glob(f"py{python_version}-*"):
                if old != cached:
                    shutil.rmtree(old, ignore_errors=True)
        return cached / "site", tuple(json.loads(done.read_text()))  # type: ignore[return-value]


def manylinux_platforms(glibc: tuple[int, int]) -> list[str]:
    """Every platform tag whose wheels run on `glibc` (x86_64). pip does not expand
    `--platform manylinux_2_26_x86_64` to older tags (it does so only for the legacy
    manylinux2014/2010 names), so a wheel tagged manylinux_2_17 alone would be
    skipped: each one is named here, newest first, legacy aliases included."""
    major, minor = glibc
    tags = [f"manylinux_{major}_{m}_x86_64" for m in range(minor, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    return tags + [f"{name}_x86_64" for m, name in legacy.items() if m <= minor]


def _install(wheel: Path, site: Path, python_version: str, glibc: tuple[int, int]) -> None:
    platforms = [arg for tag in manylinux_platforms(glibc) for arg in ("--platform", tag)]
    _pip(
        "install",
        "--target",
        str(site),
        *platforms,
        "--implementation",
        "cp",
        "--python-version",
        python_version,
        "--only-binary=:all:",  # wheels only: nothing compiled against the build machine
        "--no-compile",
        "--report",
        str(site.parent / "resolution.json"),
        f"{wheel}[{','.join(EXTRAS)}]",
    )
    # This project's own files come from each build's wheel (_unpack_project).
    _remove_distribution(site, DISTRIBUTION)
    for name in PRUNED_DISTRIBUTIONS:
        _remove_distribution(site, name)
    for pattern in PRUNED_FOLDERS:
        for path in sorted(site.glob(pattern), reverse=True):  # inner folders first
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
    _check_botocore_clients(site)
    for model in (site / "botocore" / "data").iterdir():
        if model.is_dir() and model.name not in BOTOCORE_SERVICES:
            shutil.rmtree(model)


# A client that botocore, boto3 or s3transfer makes of a named service:
# `self._client_creator('sts', ...)`, `create_nested_client(self._session, "sso-oidc")`.
_NAMED_CLIENT = re.compile(
    r"""(?:_client_creator|create_nested_client|create_client)\(\s*(?:[\w.]+\s*,\s*)?"""
    r"""['"]([a-z0-9-]+)['"]"""
)


def _check_botocore_clients(site: Path) -> None:
    """Raises PackageError when botocore, boto3 or s3transfer (as installed) name a
    service client whose model BOTOCORE_SERVICES would drop: a newer botocore that adds a
    credential source must not lose it silently."""
    named = {
        match.group(1): path.relative_to(site)
        for library in ("botocore", "boto3", "s3transfer")
        for path in sorted((site / library).rglob("*.py"))
        for match in _NAMED_CLIENT.finditer(path.read_text(encoding="utf-8"))
    }
    dropped = {name: where for name, where in named.items() if name not in BOTOCORE_SERVICES}
    if dropped:
        raise PackageError(
            "botocore makes clients whose models BOTOCORE_SERVICES leaves out: "
            + ", ".join(f"{name} ({where})" for name, where in sorted(dropped.items()))
        )


def _remove_distribution(site: Path, name: str) -> None:
    """Deletes every file an installed distribution's RECORD lists, then its folders
    (nothing when it is not installed: a newer uvicorn may not ask for it)."""
    info = next(site.glob(f"{name}-*.dist-info"), None)
    if info is None:
        return
    folders = set()
    for line in (info / "RECORD").read_text().splitlines():
        path = (site / line.rsplit(",", 2)[0]).resolve()
        if path.is_relative_to(site.resolve()):
            path.unlink(missing_ok=True)
            folders.update(path.parents)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        if folder.is_relative_to(site.resolve()) and folder != site.resolve():
            with contextlib.suppress(OSError):  # still holds another distribution's files
                folder.rmdir()
    shutil.rmtree(info, ignore_errors=True)


_GLIBC_NEEDED = re.compile(rb"GLIBC_(\d+)\.(\d+)")


def _check_glibc(site: Path, glibc: tuple[int, int]) -> tuple[int, int]:
    """The newest glibc symbol version any ELF file under `site` asks for; raises
    PackageError naming the files that need more than `glibc`. A wheel's platform tag
    is its builder's claim; the binaries' own version needs are the fact."""
    newest, too_new = (0, 0), []
    for path in site.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        with open(path, "rb") as f:
            if f.read(4) != b"\x7fELF":
                continue
            versions = {(int(a), int(b)) for a, b in _GLIBC_NEEDED.findall(f.read())}
        if versions:
            newest = max(newest, max(versions))
            if max(versions) > glibc:
                too_new.append(f"{path.relative_to(site)} needs glibc {max(versions)}")
    if too_new:
        raise PackageError(f"glibc is {glibc} on the runtime: " + "; ".join(too_new))
    return newest


def _unpack_project(wheel: Path, package: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        for member in zf.namelist():
            top = member.split("/", 1)[0]
            if top in SHIPPED_PACKAGES or top.endswith(".dist-info"):
                zf.extract(member, package)


# Run by the target's own interpreter, isolated (-I -S) like the runtime: imports the
# handler as a cold start does and the modules that first requests import
# (FIRST_USE_IMPORTS, comma-separated in argv[2]), then compiles exactly what those
# imported, and all of this project's shipped packages (their other modules load on a
# first request).
_COMPILE = """
import compileall, importlib, py_compile, sys
package = sys.argv[1]
sys.path.insert(0, package)
import api.lambda_handler
for name in filter(None, sys.argv[2].split(",")):
    importlib.import_module(name)
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
for module in list(sys.modules.values()):
    source = getattr(module, "__file__", None) or ""
    if source.startswith(package + "/") and source.endswith(".py"):
        py_compile.compile(source, doraise=True, invalidation_mode=mode)
for name in sys.argv[3:]:
    compileall.compile_dir(package + "/" + name, quiet=1, invalidation_mode=mode)
"""


def _compile_cold_start(package: Path, python: str | None) -> bool:
    """Ships bytecode for what a cold start imports (and FIRST_USE_IMPORTS). Lambda's
    code folder is read-only, so without it every cold start compiles the API and its
    libraries again (benchmarks/lambda_cold_start.py: the first answer takes 2.7 to 3
    times as long without it). Bytecode is specific to a Python version, so
    it is written by `python`, the target's version, and checked by hash, never by
    timestamp (unzipping changes timestamps). False when there is no such interpreter."""
    if python is None:
        return False
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATA_DIR": data_dir,
            # `import modal` reads its config file: not this machine's ~/.modal.toml.
            "MODAL_CONFIG_PATH": os.path.join(data_dir, "modal.toml"),
        }
        first_use = ",".join(FIRST_USE_IMPORTS)
        subprocess.run(
            [python, "-I", "-S", "-c", _COMPILE, str(package), first_use, *SHIPPED_PACKAGES],
            check=True,
            cwd=data_dir,  # no .env of the checkout is read
            env=env,
        )
    return True


def runtime_python(version: str = RUNTIME_PYTHON) -> str | None:
    """An interpreter of CPython `version` on this machine, to compile the package's
    bytecode and to run it in tests: $VAP_LAMBDA_PYTHON, this one, python<version> on
    PATH, or pyenv's; None when there is none."""
    candidates = [
        os.environ.get("VAP_LAMBDA_PYTHON", ""),
        sys.executable,
        shutil.which(f"python{version}") or "",
        *map(str, sorted(_pyenv_root().glob(f"versions/{version}.*/bin/python{version}"))),
    ]
    for python in filter(None, candidates):
        # A pyenv shim is on PATH for versions it will refuse to run: ask each one.
        probe = subprocess.run(
            [python, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return python
    return None


def _pyenv_root() -> Path:
    return Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))


def tree_size(folder: Path) -> int:
    """Bytes of every file under `folder`, as AWS counts the unzipped size."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def zip_folder(folder: Path, archive: Path) -> None:
    """Zips `folder`'s contents in a stable order, keeping file modes."""
    partial = archive.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    partial.replace(archive)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True
    )


# A stand-in for the Lambda runtime's loop, for tests and benchmarks: a fresh
# interpreter, isolated (-I: no PYTHON* variables, no user site, no working folder on
# sys.path) and without site-packages (-S), whose sys.path is the package folder (then
# any layers) and the standard library, as /var/task is on Lambda. It imports the
# handler (the init phase), then reads JSON lines on stdin and answers each with one:
#   {"event": {...}}         -> {"response": {...}}  (the handler's return value)
#   {"find": ["torch", ...]} -> {"found": {"torch": null, "api": "/…/api/__init__.py"}}
# Whatever the app prints goes to stderr, so stdout carries only answers.
_RUNTIME = """
import importlib, importlib.util, json, os, sys, types
sys.path[:0] = sys.argv[2:]
answers = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr
module, _, name = sys.argv[1].rpartition(".")
handler = getattr(importlib.import_module(module), name)
context = types.SimpleNamespace(
    function_name="vap-api", aws_request_id="local", memory_limit_in_mb=1024,
    get_remaining_time_in_millis=lambda: 29000,
)
for line in sys.stdin:
    request = json.loads(line)
    if "find" in request:
        specs = {name: importlib.util.find_spec(name) for name in request["find"]}
        answer = {"found": {n: s and (s.origin or "namespace") for n, s in specs.items()}}
    else:
        answer = {"response": handler(request["event"], context)}
    answers.write(json.dumps(answer) + "\\n")
    answers.flush()
"""
HANDLER = "api.lambda_handler.handler"  # infra/template.yaml's Handler


def local_runtime(
    package: Path,
    python: str,
    handler: str = HANDLER,
    layers: Sequence[Path] = (),
    python_options: Sequence[str] = (),
) -> list[str]:
    """The command that runs `handler` from `package` (then `layers`) in `python`, the
    version the package was built for, as a warm Lambda would (see _RUNTIME)."""
    paths = [str(package), *map(str, layers)]
    return [python, "-I", "-S", *python_options, "-c", _RUNTIME, handler, *paths]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "lambda")
    parser.add_argument("--python-version", default=RUNTIME_PYTHON)
    parser.add_argument("--fresh", action="store_true", help="resolve dependencies again")
    args = parser.parse_args()
    try:
        built = build(args.out, python_version=args.python_version, fresh=args.fresh)
    except PackageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"package:   {built.package}")
    print(f"unzipped:  {built.unzipped_bytes / 1e6:7.1f} MB  (limit {UNZIPPED_LIMIT / 1e6:.1f} MB)")
    print(f"zipped:    {built.zipped_bytes / 1e6:7.1f} MB  {built.archive}")
    print(f"glibc:     binaries need {built.max_glibc[0]}.{built.max_glibc[1]} at most")
    if not built.bytecode:
        print(
            f"bytecode:  none: no python{args.python_version} here to compile with (set"
            " VAP_LAMBDA_PYTHON); each cold start compiles what it imports (slower start)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
