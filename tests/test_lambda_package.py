"""The Lambda deployment package (scripts/lambda_package.py), run as Lambda runs it: the
runtime's Python, isolated, seeing only the package folder and the standard library,
kept warm across invocations and fed API Gateway HTTP API (v2) events. It uses the test
database and S3 (SeaweedFS) through the package's own psycopg and boto3, and starts
diagnostic jobs on the local runner in this virtualenv's interpreter (the worker unit),
which call back the live API process: two stateless replicas of one API. Modal's cloud
is out of reach, and the Lambda has no Modal token here: a job for the Modal runner (the
one infra/template.yaml configures) meets the real client's refusal.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.lambda_package import (
    BOTOCORE_SERVICES,
    RUNTIME_PYTHON,
    UNZIPPED_LIMIT,
    Built,
    build,
    local_runtime,
    runtime_python,
)
from tests import dataset_builders
from tests.test_lambda import _body, http_api_v2

PASSWORD = "lambda package password"


@pytest.fixture(scope="module")
def python() -> str:
    found = runtime_python(RUNTIME_PYTHON)
    assert found, f"no python{RUNTIME_PYTHON} (the Lambda runtime's); set VAP_LAMBDA_PYTHON"
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, python: str) -> Built:
    return build(tmp_path_factory.mktemp("lambda"))


class WarmLambda:
    """One process of the package's handler (lambda_package.local_runtime)."""

    def __init__(self, command: list[str], env: dict[str, str], workdir: Path) -> None:
        self.log = workdir / "lambda.log"
        self._log = open(self.log, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            command,
            env=env,
            cwd=workdir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"the Lambda process ended: {self.log.read_text()[-3000:]}"
        return json.loads(line)  # type: ignore[no-any-return]

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        return self._ask({"event": event})["response"]  # type: ignore[no-any-return]

    def find(self, *modules: str) -> dict[str, str | None]:
        return self._ask({"find": list(modules)})["found"]  # type: ignore[no-any-return]

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        finally:
            self.proc.kill()
            self._log.close()


@pytest.fixture(scope="module")
def lam(built, python, live_server, s3_server, tmp_path_factory) -> Iterator[WarmLambda]:  # type: ignore[no-untyped-def]
    from tests.conftest import S3_TEST_BUCKET

    workdir = tmp_path_factory.mktemp("lambda-task")
    env = {
        # The test database, secret key and the rest, as the live API has; no Modal token
        # or profile, and no Modal config file (this machine's ~/.modal.toml is not read).
        **{name: value for name, value in os.environ.items() if not name.startswith("MODAL_")},
        "MODAL_CONFIG_PATH": str(workdir / "no-modal.toml"),
        "AWS_LAMBDA_FUNCTION_NAME": "vap-api",
        "DATA_DIR": str(workdir / "data"),
        # Workers call back the live API: any replica serves any job.
        "API_BASE_URL": live_server,
        # The worker unit: this virtualenv's Python, which has `functions`.
        "LOCAL_WORKER_PYTHON": sys.executable,
        "STORAGE_BACKEND": "s3",
        "S3_ENDPOINT_URL": s3_server.endpoint_url,
        "S3_ACCESS_KEY_ID": s3_server.access_key_id,
        "S3_SECRET_ACCESS_KEY": s3_server.secret_access_key,
        "S3_BUCKET": S3_TEST_BUCKET,
        "S3_REGION": "us-east-1",
    }
    warm = WarmLambda(local_runtime(built.package, python), env, workdir)
    try:
        yield warm
    finally:
        warm.close()


def packaged(built: Built, python: str, code: str, *args: str) -> str:
    """What `code` prints, run in a clean interpreter of the package (as local_runtime
    runs the handler: isolated, its sys.path the package folder and the standard library);
    `args` are its sys.argv[1:]."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MODAL_CONFIG_PATH": "/nonexistent"}
    setup = f"import sys; sys.path.insert(0, {str(built.package)!r})\n"
    done = subprocess.run(
        [python, "-I", "-S", "-c", setup + code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=built.package.parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _json_event(method: str, path: str, payload: Any, token: str | None = None) -> dict:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return http_api_v2(method, path, json.dumps(payload), headers)


def _get(path: str, token: str, query: str = "") -> dict:
    return http_api_v2("GET", path, headers={"authorization": f"Bearer {token}"}, query=query)


def _login(lam: WarmLambda) -> tuple[str, str]:
    """A new account registered and logged in through the package: (email, token)."""
    email = f"lambda-pkg-{uuid.uuid4().hex[:8]}@example.com"
    r = lam.invoke(
        _json_event("POST", "/api/v1/auth/register", {"email": email, "password": PASSWORD})
    )
    assert r["statusCode"] == 201, r
    form = httpx.QueryParams({"username": email, "password": PASSWORD})
    headers = {"content-type": "application/x-www-form-urlencoded"}
    r = lam.invoke(http_api_v2("POST", "/api/v1/auth/login", str(form), headers))
    assert r["statusCode"] == 200, r
    return email, _body(r)["access_token"]


def test_the_zip_holds_the_folder_under_the_size_limit_with_the_handler_at_its_root(built):
    with zipfile.ZipFile(built.archive) as zf:
        infos = zf.infolist()
        names = {i.filename for i in infos}
    assert "api/lambda_handler.py" in names
    assert sum(i.file_size for i in infos) == built.unzipped_bytes <= UNZIPPED_LIMIT
    assert built.max_glibc <= (2, 34)  # Amazon Linux 2023, the python3.12 runtime's
    assert built.bytecode


def test_the_packaged_api_imports_from_the_package_and_nothing_else(lam, built):
    found = lam.find("api", "contract", "vap_runtime", "boto3", "onnxruntime", "numpy", "modal")
    for module, origin in found.items():
        assert origin and Path(origin).is_relative_to(built.package), (module, origin)
    # No worker code, no frameworks, no repository checkout, no server speed-ups.
    absent = ("functions", "trainers", "exporters", "vap_client", "torch", "timm", "uvloop")
    assert lam.find(*absent) == dict.fromkeys(absent)


def test_health_reports_the_database_and_s3_from_the_package(lam):
    r = lam.invoke(http_api_v2("GET", "/health"))
    assert r["statusCode"] == 200
    checks = _body(r)["checks"]
    assert checks["database"]["backend"] == "postgresql" and checks["database"]["ok"]
    assert checks["storage"]["backend"] == "s3" and checks["storage"]["ok"]


def test_register_and_login_through_the_package(lam):
    email, token = _login(lam)
    r = lam.invoke(_get("/api/v1/auth/me", token))
    assert r["statusCode"] == 200 and _body(r)["email"] == email


def test_a_dataset_uploaded_as_a_binary_event_is_ingested_into_s3(lam, s3_server):
    from api.services.storage import get_storage
    from tests.conftest import s3_settings

    _, token = _login(lam)
    archive = dataset_builders.zip_bytes(
        dataset_builders.imagefolder_files(classes=(0, 1), train=3, val=1)
    )
    form = httpx.Request(
        "POST",
        "https://lambda/api/v1/datasets",
        data={"name": "digits from lambda"},
        files=[("files", ("digits.zip", archive, "application/zip"))],
    )
    event = http_api_v2(
        "POST",
        "/api/v1/datasets",
        headers={"content-type": form.headers["content-type"], "authorization": f"Bearer {token}"},
    )
    # API Gateway hands a binary body to Lambda base64-encoded.
    event |= {"body": base64.b64encode(form.read()).decode(), "isBase64Encoded": True}
    r = lam.invoke(event)
    assert r["statusCode"] == 201, r
    dataset = _body(r)
    assert dataset["status"] == "ready" and dataset["name"] == "digits from lambda"
    # What the package's boto3 wrote, read back here with ours.
    keys = [o.key for o in get_storage(s3_settings(s3_server)).list(f"datasets/{dataset['id']}/")]
    assert keys, "nothing in S3 for the dataset"


def test_a_diagnostic_job_dispatched_from_the_package_completes_in_a_worker(lam):
    _, token = _login(lam)
    r = lam.invoke(
        _json_event("POST", "/api/v1/diagnostics/jobs", {"heartbeats": 2, "interval": 0}, token)
    )
    assert r["statusCode"] == 201, r
    job = _body(r)
    assert job["runner"] == "local"
    deadline = time.monotonic() + 120  # a bound on waiting, not a timing assertion
    while job["status"] not in ("completed", "failed", "cancelled"):
        assert time.monotonic() < deadline, f"job still {job['status']}"
        time.sleep(0.2)
        job = _body(lam.invoke(_get(f"/api/v1/diagnostics/jobs/{job['id']}", token)))
    assert job["status"] == "completed" and job["progress_percent"] == 100, job
    events = _body(lam.invoke(_get(f"/api/v1/jobs/{job['id']}/events", token, "after=0")))
    statuses = [e["data"]["status"] for e in events["events"] if e["type"] == "status"]
    assert statuses == ["pending", "queued", "running", "completed"]
    beats = [e for e in events["events"] if e["type"] == "heartbeat"]
    assert len(beats) == 2


def test_modal_s_client_imports_from_the_package(built, python):
    """The Modal runner's `import modal`, and everything that imports, from the package."""
    out = packaged(
        built,
        python,
        "import json, modal\n"
        "print(json.dumps({n: getattr(m, '__file__', None) for n, m in sys.modules.items()}))",
    )
    modules = json.loads(out)
    assert Path(modules["modal"]).is_relative_to(built.package)
    outside = {
        name: origin
        for name, origin in modules.items()
        if origin and "site-packages" in origin  # the standard library is not one
    }
    assert outside == {}
    for library in ("grpclib", "google.protobuf", "synchronicity", "cbor2"):
        assert Path(modules[library]).is_relative_to(built.package), library


def test_a_modal_job_without_a_token_fails_at_once_with_modal_s_own_refusal(lam):
    """The deployed shape (EXECUTION_BACKEND=modal): the runner reaches Modal's real
    client from the package, which refuses to spawn without credentials (a token would
    reach Modal's cloud, out of reach here)."""
    _, token = _login(lam)
    r = lam.invoke(
        _json_event("POST", "/api/v1/diagnostics/jobs", {"runner": "modal", "heartbeats": 1}, token)
    )
    assert r["statusCode"] == 201, r
    job = _body(r)
    assert job["runner"] == "modal" and job["status"] == "failed", job
    error = job["error_message"]
    assert "ModuleNotFoundError" not in error, error
    assert error.startswith(
        "Runner 'modal' could not start the job: "
        "Modal refused spawn of vision-ai-platform.diagnostic: AuthError: Token missing."
    ), error
    events = _body(lam.invoke(_get(f"/api/v1/jobs/{job['id']}/events", token, "after=0")))
    statuses = [e["data"]["status"] for e in events["events"] if e["type"] == "status"]
    assert statuses == ["pending", "failed"]


def test_botocore_keeps_s3_and_every_credential_source_s_service(built, python):
    """The package's botocore holds the models of S3 and of the services its credential
    providers call (the S3 upload test above uses S3 itself); the rest were pruned."""
    out = packaged(
        built,
        python,
        "import json, botocore.session\n"
        "session = botocore.session.get_session()\n"
        "clients = {}\n"
        "for name in sys.argv[1:]:\n"
        "    client = session.create_client(name, region_name='us-east-1',\n"
        "        aws_access_key_id='id', aws_secret_access_key='secret')\n"
        "    clients[name] = client.meta.service_model.service_name\n"
        "print(json.dumps({'clients': clients, 'available': session.get_available_services()}))",
        *BOTOCORE_SERVICES,
    )
    report = json.loads(out)
    assert report["clients"] == {name: name for name in BOTOCORE_SERVICES}
    assert sorted(report["available"]) == sorted(BOTOCORE_SERVICES)


def test_the_endpoint_s_onnx_runtime_runs_a_model_from_the_package(built, python, tmp_path):
    """What the pay-per-call endpoint runs (api/services/endpoint/sessions.py), with
    onnxruntime's offline tooling pruned: a one-op model (y = x + 1) answers."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "one"], ["y"])],
        "add_one",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "add_one.onnx"
    onnx.save(model, path)
    out = packaged(
        built,
        python,
        "from pathlib import Path\n"
        "import numpy as np\n"
        "from api.services.endpoint.sessions import Runner\n"
        "(y,) = Runner(Path(sys.argv[1]))(np.arange(3, dtype=np.float32).reshape(1, 3))\n"
        "print(y.tolist())",
        str(path),
    )
    assert json.loads(out) == [[1.0, 2.0, 3.0]]
