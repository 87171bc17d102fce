"""Test session set-up: a fresh PostgreSQL database, migrated, and an API client.

The environment is set before anything imports `api`, so the app under test reads
the same settings a deployment would. PostgreSQL is the real one on 127.0.0.1:5432
(start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PG_ADMIN_URL = os.environ.get(
    "VAP_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TEST_DB = f"vap_test_{os.getpid()}_{secrets.token_hex(3)}"
DATA_DIR = Path(tempfile.mkdtemp(prefix="vap-test-"))

os.environ.update(
    {
        "DATABASE_URL": PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + TEST_DB,
        "DATA_DIR": str(DATA_DIR),
        "SECRET_KEY": "test-secret-" + secrets.token_hex(24),
        "ENVIRONMENT": "test",
        "STORAGE_BACKEND": "local",
        "API_BASE_URL": "http://testserver",
        "LOG_LEVEL": "WARNING",
        "WEBHOOK_ALLOW_PRIVATE_URLS": "true",  # the test receivers listen on loopback
        # The whole suite logs in from one or two addresses (the TestClient's, loopback):
        # its failed logins (schemathesis's among them) must not throttle later tests.
        # tests/test_auth.py sets its own limit where it tests this one.
        "LOGIN_MAX_FAILURES_PER_ADDRESS": "1000000",
        # Every API process the tests start would load the models of the shared test
        # database's active deployments in the background; tests/test_endpoint.py checks
        # that warming with the setting on.
        "INFER_WARM_AT_STARTUP": "false",
        # Workers' file cache and framework settings stay inside the test's folder.
        "VAP_CACHE_DIR": str(DATA_DIR / "cache"),
        # Tests' users run many jobs at once; tests/test_job_slots.py checks the real
        # per-role limits on a server of its own.
        "JOB_LIMITS": json.dumps(
            {
                role: {"running": 50, "waiting": 100, "max_attempts": 10, "max_timeout_hours": 168}
                for role in ("guest", "engineer_i", "engineer_ii", "manager", "admin")
            }
        ),
    }
)


def _admin_connect():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True)


@pytest.fixture(scope="session", autouse=True)
def data_dir() -> Iterator[Path]:
    """The session's data folder (storage, workers' files, live APIs' logs), removed at
    the end: a few GB a session, which repeated runs would otherwise pile up in /tmp."""
    yield DATA_DIR
    import shutil

    shutil.rmtree(DATA_DIR, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[str]:
    """A fresh database for this test session, migrated to head, dropped afterwards."""
    from api.db import migrate

    with _admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{TEST_DB}"')
    try:
        migrate.upgrade()
        yield os.environ["DATABASE_URL"]
    finally:
        from api.db.session import engine_for, get_engine

        # Engines are cached per URL; close their pools so DROP finds no open connection.
        get_engine().dispose()
        engine_for.cache_clear()
        with _admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')


@pytest.fixture(scope="session")
def app(database: str):  # type: ignore[no-untyped-def]
    from api.main import app

    return app


@pytest.fixture()
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@dataclass
class Account:
    id: str
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def register_and_login(client, role: str | None = None, admin: Account | None = None) -> Account:  # type: ignore[no-untyped-def]
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    password = "correct horse battery"
    r = client.post("/api/v1/auth/register", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    if role is not None and r.json()["role"] != role:
        assert admin is not None, "changing a role needs an admin"
        r2 = client.patch(f"/api/v1/users/{user_id}", json={"role": role}, headers=admin.headers)
        assert r2.status_code == 200, r2.text
    r = client.post("/api/v1/auth/login", data={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return Account(id=user_id, email=email, password=password, token=r.json()["access_token"])


@pytest.fixture(scope="session", autouse=True)
def admin(app) -> Account:  # type: ignore[no-untyped-def]
    """The installation's first account, which becomes admin (autouse: it must come first)."""
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        account = register_and_login(c)
        me = c.get("/api/v1/auth/me", headers=account.headers).json()
    assert me["role"] == "admin"
    return account


@pytest.fixture()
def make_user(client, admin):  # type: ignore[no-untyped-def]
    """Factory for fresh accounts; `role=` defaults to the installation's default (guest)."""

    def make(role: str | None = None) -> Account:
        return register_and_login(client, role=role, admin=admin)

    return make


@pytest.fixture(scope="session")
def s3_server():  # type: ignore[no-untyped-def]
    """A real S3-compatible server (SeaweedFS) on loopback for this test session."""
    from tests import seaweedfs

    workdir = Path(tempfile.mkdtemp(prefix="vap-seaweed-"))
    server, proc = seaweedfs.start(workdir)
    try:
        yield server
    finally:
        seaweedfs.stop(proc)
        import shutil

        if os.environ.get("VAP_KEEP_SEAWEED"):
            print(workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


S3_TEST_BUCKET = f"vap-test-{secrets.token_hex(4)}"


def s3_settings(server, **overrides):  # type: ignore[no-untyped-def]
    """Settings for the S3 backend on `server`, in a bucket of its own."""
    from api.settings import Settings

    values = {
        "storage_backend": "s3",
        "s3_endpoint_url": server.endpoint_url,
        "s3_access_key_id": server.access_key_id,
        "s3_secret_access_key": server.secret_access_key,
        # One bucket per session: SeaweedFS gives every bucket volumes of its own.
        "s3_bucket": S3_TEST_BUCKET,
        "s3_region": "us-east-1",
        "s3_create_bucket": True,
    }
    return Settings(**(values | overrides))


@pytest.fixture()
def s3_client(app, s3_server):  # type: ignore[no-untyped-def]
    """The API with its storage on the SeaweedFS S3 server (the database is the same): an
    in-process client and that storage."""
    from fastapi.testclient import TestClient

    from api.deps import current_settings
    from api.services.storage import get_storage

    settings = s3_settings(s3_server)
    app.dependency_overrides[current_settings] = lambda: settings
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            yield c, get_storage(settings)
    finally:
        app.dependency_overrides.pop(current_settings)


def upload_dataset(
    client,
    account,
    files: dict[str, bytes] | None = None,
    archive: tuple[str, bytes] | None = None,
    **fields,
):  # type: ignore[no-untyped-def]
    """POST a dataset as a form: one archive, or loose files by relative path."""
    import json as _json

    if archive is not None:
        parts = [("files", (archive[0], archive[1], "application/octet-stream"))]
    else:
        parts = [
            ("files", (name, data, "application/octet-stream"))
            for name, data in (files or {}).items()
        ]
    data = {"name": fields.pop("name", "data " + uuid.uuid4().hex[:6])}
    for key, value in fields.items():
        data[key] = _json.dumps(value) if isinstance(value, dict) else str(value)
    return client.post("/api/v1/datasets", data=data, files=parts, headers=account.headers)


@contextlib.contextmanager
def api_process(python: str | None = None, **env_overrides: str) -> Iterator[str]:
    """The API as a real process on a free port, on the test database; its base URL.
    `python`: the interpreter it runs in (default: this one). `env_overrides` reach the
    API and, through its local runner, the workers it starts."""
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "API_BASE_URL": base,
        "DATA_DIR": str(DATA_DIR / f"live-{port}"),
        "PYTHONPATH": str(Path(__file__).parents[1]),
        **env_overrides,
    }
    log_path = DATA_DIR / f"live-{port}.log"
    log = open(log_path, "wb")  # noqa: SIM115
    command = [python or sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError(log_path.read_text()[-3000:])
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="session")
def live_server(database):  # type: ignore[no-untyped-def]
    """The API as a real process on a free port, on the test database: functions started
    by its runners call it back over real HTTP."""
    with api_process() as base:
        yield base


def logged_in(base: str, email_prefix: str = "jobs") -> Any:
    """An httpx client logged in to the API at `base` as a new user."""
    import httpx

    email = f"{email_prefix}-{uuid.uuid4().hex[:8]}@example.com"
    password = "live tests password"
    c = httpx.Client(base_url=base, timeout=30)
    r = c.post("/api/v1/auth/register", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    r = c.post("/api/v1/auth/login", data={"username": email, "password": password})
    c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return c


@pytest.fixture(scope="session")
def docker_engine():  # type: ignore[no-untyped-def]
    """A real Docker engine with the small worker image built on it."""
    from tests.docker_engine import Engine

    engine = Engine()
    try:
        engine.image = engine.build_test_image()  # type: ignore[attr-defined]
        yield engine
    finally:
        engine.stop()


@pytest.fixture(scope="session")
def worker_image(docker_engine):  # type: ignore[no-untyped-def]
    """The real worker image (infra/Dockerfile.worker: torch and the worker extra) built on
    docker_engine's engine; its tag. Minutes the first time on a machine, then seconds
    (tests/docker_engine.py keeps the engine's data root as a template)."""
    return docker_engine.build_worker_image()


@pytest.fixture()
def api(live_server):  # type: ignore[no-untyped-def]
    """An httpx client logged in to the live server as a new user."""
    c = logged_in(live_server)
    try:
        yield c
    finally:
        c.close()
