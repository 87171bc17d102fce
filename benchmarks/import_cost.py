"""Cold-start cost of the API (what a Lambda cold start pays) against bare FastAPI apps.

Two figures. Import: `import api.main` against `import fastapi; FastAPI()`. First
request: process start to the first answered `GET /api/v1/auth/me` with a valid login on
PostgreSQL, against a bare FastAPI + SQLAlchemy app answering the same path with the
same query (the user by id). Both call the ASGI app directly, as Mangum does, so no
server or HTTP client is counted.

Each sample is a fresh interpreter; the variants are sampled alternately in the same run
so machine noise hits them alike. Run: python benchmarks/import_cost.py [--runs 21]
(the first-request figure needs PostgreSQL: VAP_BENCH_PG_ADMIN_URL, default
postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "import fastapi; fastapi.FastAPI()"
SUBJECT = "import api.main"
PG_ADMIN_URL = os.environ.get(
    "VAP_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

# One GET through the ASGI app, as Mangum makes it; prints when the answer was complete.
FIRST_REQUEST = """
import asyncio, os, sys, time
from {module} import app

async def get(path, token):
    status = []
    async def receive():
        return {{"type": "http.request", "body": b"", "more_body": False}}
    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])
    scope = {{
        "type": "http", "asgi": {{"version": "3.0"}}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "client": ("127.0.0.1", 1), "server": ("bench", 80),
        "headers": [(b"host", b"bench"), (b"authorization", b"Bearer " + token.encode())],
    }}
    await app(scope, receive, send)
    return status[0]

status = asyncio.run(get("/api/v1/auth/me", os.environ["BENCH_TOKEN"]))
print(time.monotonic(), status)
"""

# The baseline: FastAPI and SQLAlchemy, the same path, the same query, no more.
BARE_APP = """
import os, uuid
from fastapi import FastAPI, Header
from sqlalchemy import create_engine, text

engine = create_engine(os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"))
app = FastAPI()

@app.get("/api/v1/auth/me")
def me(authorization: str = Header()) -> dict:
    user_id = uuid.UUID(authorization.removeprefix("Bearer "))
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT id, email, full_name, role FROM users WHERE id = :id"), {"id": user_id}
        ).mappings().one()
    return {key: str(value) for key, value in row.items()}
"""


def sample(code: str, cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "DATA_DIR": cwd},
    )
    return time.perf_counter() - started


def first_request(module: str, env: dict[str, str]) -> float:
    """Seconds from starting a fresh interpreter to its first answered request (a 200)."""
    started = time.monotonic()  # system-wide on Linux: comparable with the child's
    out = subprocess.run(
        [sys.executable, "-c", FIRST_REQUEST.format(module=module)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    answered, status = out.stdout.split()
    assert status == "200", out
    return float(answered) - started


@contextmanager
def database_with_a_user(cwd: str) -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database, migrated, with one user; the environment for the API
    (its login in BENCH_TOKEN) and for the bare app (BARE_TOKEN: the user's id)."""
    import psycopg

    name = f"vap_bench_{secrets.token_hex(4)}"
    env = {
        "PYTHONPATH": f"{ROOT}:{cwd}",
        "PATH": "/usr/bin:/bin",
        "DATA_DIR": cwd,
        "DATABASE_URL": PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name,
        "SECRET_KEY": secrets.token_hex(32),
    }
    setup = """
from api.auth.tokens import create_access_token
from api.db import migrate
from api.db.session import new_session
from api.schemas.users import UserCreate
from api.services import users
from api.settings import get_settings

migrate.upgrade()
settings = get_settings()
with new_session() as db:
    user = users.register(db, settings, UserCreate(email="bench@example.com", password="x" * 12))
    print(user.id, create_access_token(settings, user.id, user.token_version))
"""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        out = subprocess.run(
            [sys.executable, "-c", setup], check=True, capture_output=True, text=True, env=env
        )
        user_id, token = out.stdout.split()[-2:]
        yield env | {"BENCH_TOKEN": token, "BARE_TOKEN": user_id}
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def first_request_figures(runs: int, cwd: str) -> None:
    Path(cwd, "bench_bare_app.py").write_text(BARE_APP)
    with database_with_a_user(cwd) as env:
        bare_env = env | {"BENCH_TOKEN": env["BARE_TOKEN"]}
        first_request("api.main", env)  # warm the OS page cache for both
        first_request("bench_bare_app", bare_env)
        base, subj = [], []
        for _ in range(runs):
            base.append(first_request("bench_bare_app", bare_env))
            subj.append(first_request("api.main", env))
    b, s = statistics.median(base), statistics.median(subj)
    print("process start to first answered GET /api/v1/auth/me (PostgreSQL, median):")
    print(f"  bare FastAPI + SQLAlchemy:  {b * 1000:7.1f} ms")
    print(f"  api.main:                   {s * 1000:7.1f} ms")
    print(f"  ratio api.main / bare:      {s / b:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--no-first-request", action="store_true", help="only the import figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cwd:
        sample(SUBJECT, cwd)  # warm the OS page cache for both
        sample(BASELINE, cwd)
        base, subj, empty = [], [], []
        for _ in range(args.runs):
            empty.append(sample("pass", cwd))
            base.append(sample(BASELINE, cwd))
            subj.append(sample(SUBJECT, cwd))
    interp = statistics.median(empty)
    b, s = statistics.median(base), statistics.median(subj)
    print(f"runs per variant:           {args.runs}")
    print(f"bare interpreter (median):  {interp * 1000:7.1f} ms")
    print(
        f"import fastapi + app:       {b * 1000:7.1f} ms"
        f"  (imports only: {(b - interp) * 1000:.1f} ms)"
    )
    print(
        f"import api.main:            {s * 1000:7.1f} ms"
        f"  (imports only: {(s - interp) * 1000:.1f} ms)"
    )
    print(
        f"ratio api.main / fastapi:   {s / b:.2f} (whole process),"
        f" {(s - interp) / (b - interp):.2f} (imports only)"
    )
    if not args.no_first_request:
        with tempfile.TemporaryDirectory() as cwd:
            first_request_figures(args.runs, cwd)


if __name__ == "__main__":
    main()
