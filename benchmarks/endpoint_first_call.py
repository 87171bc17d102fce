# ruff: noqa: E501  (report lines read better whole)
"""The endpoint's first call after a deployment, against its steady calls.

A real API process (uvicorn, one worker, PostgreSQL, local storage) and the demo's model:
a timm ResNet-18 at 32 px (random weights, 10 classes) exported to ONNX, called with a
32x32 PNG as the demo calls it with a held-out digit. Each round starts a fresh API
process (nothing loaded, nothing imported past `api.main`), then:

- created: `POST /api/v1/deployments`, and at once the first `POST /v1/infer`;
- activated: the deployment deactivated, the API restarted, the deployment activated, and
  at once the first call;
- restarted: the API restarted with the deployment active (a deploy, a crash, a scale-up),
  the first call once `/health` answers; with the time from starting the process to
  `/health` answering (what warming must not add to);
- warm: the same, the first call once `/v1/health` counts a loaded model (a readiness
  probe's condition), its startup time up to then;

then --calls calls one at a time over one keep-alive connection, whose p50 is the steady
figure, and --idle-calls more on it, each after a second without calls: the latency a
caller sees whose calls are a second or more apart (threads asleep, this VM's cores idle),
which back-to-back calls never pay. Times are the client's (HTTP included) and the
endpoint's own `latency_ms`.

Run: python benchmarks/endpoint_first_call.py [--rounds 5] [--calls 100] [--idle-calls 2]
Needs PostgreSQL on 127.0.0.1:5432 (a throwaway database is created and dropped) and
the worker extra (torch, timm) to build the model.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.api_server import start_api  # noqa: E402  (ROOT first on sys.path)
from benchmarks.http_load import Connection, request_bytes  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"


def digit_png() -> bytes:
    """A 32x32 PNG, the size of the demo's held-out digits."""
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


class Api:
    """The API process of one round, restarted at will, and a logged-in client."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.base = ""
        self.startup_ms = 0.0

    def start(self) -> None:
        started = time.perf_counter()
        self.proc, self.base = start_api(self.env)
        self.startup_ms = (time.perf_counter() - started) * 1000

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


IDLE_SECONDS = 1.0


def calls(
    base: str, deployment_id: str, key: str, image: bytes, n: int, idle: int
) -> tuple[float, float, list[float], list[float]]:
    """The first call's client ms and server latency_ms, then `n` more calls' client ms,
    then `idle` more calls' client ms, each after IDLE_SECONDS without a call."""
    body = {"image": base64.b64encode(image).decode()}
    request = request_bytes(
        base, "POST", f"/v1/infer/{deployment_id}", body, {"Authorization": f"Bearer {key}"}
    )
    connection = Connection(base)
    try:
        elapsed, answer = connection.call(request)
        first, first_server = elapsed * 1000, json.loads(answer)["latency_ms"]
        steady = [connection.call(request)[0] * 1000 for _ in range(n)]
        return first, first_server, steady, calls_after_idle(connection, request, idle)
    finally:
        connection.close()


def calls_after_idle(connection: Connection, request: bytes, n: int) -> list[float]:
    """The client ms of `n` calls, each after IDLE_SECONDS without a call."""
    times = []
    for _ in range(n):
        time.sleep(IDLE_SECONDS)
        times.append(connection.call(request)[0] * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--idle-calls", type=int, default=2, help="per figure and round")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vap-bench-first-call-"))
    db_name = f"vap_bench_{secrets.token_hex(4)}"
    env = {**os.environ, "DATABASE_URL": f"{PG}/{db_name}", "SECRET_KEY": secrets.token_hex(24),
           "DATA_DIR": str(work / "api"), "STORAGE_BACKEND": "local",
           "STORAGE_LOCAL_ROOT": str(work / "storage"), "LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    for name in (
        "DATABASE_URL",
        "SECRET_KEY",
        "DATA_DIR",
        "STORAGE_BACKEND",
        "STORAGE_LOCAL_ROOT",
        "LOG_LEVEL",
    ):
        os.environ[name] = env[name]
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    api = Api(env)
    try:
        from api.db import migrate

        migrate.upgrade()
        from tests.test_deployments import export_row, exported_model, training_job

        exported = exported_model("resnet18", 32)
        image = digit_png()
        api.start()
        client = httpx.Client(base_url=api.base, timeout=60)
        email, password = f"bench-{uuid.uuid4().hex[:8]}@example.com", "bench password 123"
        client.post("/api/v1/auth/register", json={"email": email, "password": password})
        token = client.post(
            "/api/v1/auth/login", data={"username": email, "password": password}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        user_id = client.get("/api/v1/auth/me", headers=headers).json()["id"]
        job = training_job(client, headers)
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; ResNet-18 at 32 px, a 32x32 PNG; "
              f"{args.rounds} rounds, {args.calls} steady calls each")  # fmt: skip
        figures: dict[str, dict[str, list[float]]] = {
            f: {"first": [], "server": [], "p50": [], "startup": [], "idle": []}
            for f in ("created", "activated", "restarted", "warm")
        }
        for _ in range(args.rounds):
            export_id = export_row(user_id, job, exported)
            shutil.rmtree(work / "api" / "endpoint-models", ignore_errors=True)  # a new model file
            api.restart()
            dep = httpx.post(f"{api.base}/api/v1/deployments", headers=headers, timeout=60,
                             json={"export_job_id": export_id, "strategy": "platform_endpoint",
                                   "name": "first call", "tier": "enterprise"}).json()  # fmt: skip
            record(
                figures["created"],
                api,
                *calls(api.base, dep["id"], dep["api_key"], image, args.calls, args.idle_calls),
            )
            shutil.rmtree(
                work / "api" / "endpoint-models", ignore_errors=True
            )  # as on a new machine

            httpx.post(
                f"{api.base}/api/v1/deployments/{dep['id']}/deactivate", headers=headers
            ).raise_for_status()
            api.restart()
            httpx.post(
                f"{api.base}/api/v1/deployments/{dep['id']}/activate", headers=headers
            ).raise_for_status()
            record(
                figures["activated"],
                api,
                *calls(api.base, dep["id"], dep["api_key"], image, args.calls, args.idle_calls),
            )

            api.restart()
            record(
                figures["restarted"],
                api,
                *calls(api.base, dep["id"], dep["api_key"], image, args.calls, args.idle_calls),
            )

            api.restart()
            api.startup_ms += wait_until_warm(api.base)
            record(
                figures["warm"],
                api,
                *calls(api.base, dep["id"], dep["api_key"], image, args.calls, args.idle_calls),
            )
            httpx.delete(
                f"{api.base}/api/v1/deployments/{dep['id']}", headers=headers
            ).raise_for_status()
        health_steady, health_idle = idle_control(api.base, max(4, args.idle_calls))
        print()
        print(
            f"{'after':10} {'first ms':>9} {'(server)':>9} {'steady p50':>11} {'first/p50':>10} {'startup ms':>11}   (medians of {args.rounds} rounds)"
        )
        for name, f in figures.items():
            first, p50 = statistics.median(f["first"]), statistics.median(f["p50"])
            print(f"{name:10} {first:9.1f} {statistics.median(f['server']):9.1f} {p50:11.2f} "
                  f"{first / p50:10.1f} {statistics.median(f['startup']):11.0f}")  # fmt: skip
        idle = [ms for f in figures.values() for ms in f["idle"]]
        if idle:
            steady = statistics.median(p for f in figures.values() for p in f["p50"])
            after = statistics.median(idle)
            print(f"after {IDLE_SECONDS:.0f} s idle: {after:.1f} ms (median of {len(idle)} calls), "
                  f"{after / steady:.1f}x the steady p50 {steady:.2f}; first call after created "
                  f"/ after idle: {statistics.median(figures['created']['first']) / after:.1f}")  # fmt: skip
        print(f"control, GET /v1/health (no database, no model): steady p50 {health_steady:.2f} ms, "
              f"after {IDLE_SECONDS:.0f} s idle {health_idle:.2f} ms")  # fmt: skip
        print(
            "first call ms of each round: "
            + "; ".join(
                f"{n}: " + ", ".join(f"{v:.0f}" for v in f["first"]) for n, f in figures.items()
            )
        )
    finally:
        api.stop()
        from api.db.session import get_engine

        get_engine().dispose()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)


def idle_control(base: str, idle: int) -> tuple[float, float]:
    """The steady p50 and the after-idle median of GET /v1/health, which touches neither
    the database nor a model: what waking this machine's idle threads costs any call."""
    request = request_bytes(base, "GET", "/v1/health")
    connection = Connection(base)
    try:
        steady = [connection.call(request)[0] * 1000 for _ in range(100)]
        after_idle = calls_after_idle(connection, request, idle)
    finally:
        connection.close()
    return statistics.median(steady), statistics.median(after_idle)


def wait_until_warm(base: str) -> float:
    """Milliseconds until the process says it has loaded a model (its warm-up at start)."""
    started = time.perf_counter()
    while httpx.get(f"{base}/v1/health").json()["cached_models"] < 1:
        time.sleep(0.02)
    time.sleep(0.05)  # the warm-up's one run, after the model enters the cache
    return (time.perf_counter() - started) * 1000


def record(
    figure: dict[str, list[float]],
    api: Api,
    first: float,
    server: float,
    steady: list[float],
    idle: list[float],
) -> None:
    figure["first"].append(first)
    figure["server"].append(server)
    figure["p50"].append(statistics.median(steady))
    figure["startup"].append(api.startup_ms)
    figure["idle"].extend(idle)


if __name__ == "__main__":
    main()
