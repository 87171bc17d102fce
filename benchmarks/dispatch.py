# ruff: noqa: E501  (report lines read better whole)
"""Dispatch figures on this machine, against a real API process on PostgreSQL:

1. callback ingestion: heartbeats/s and p50/p99 latency from concurrent workers, beside
   a baseline measured in the same run: GET /health (one trivial database round trip);
2. SSE delivery: from a callback's send to its event reaching each of 100 open streams;
3. dispatch: from POST of a diagnostic job to its worker process's first callback.

Run: python benchmarks/dispatch.py [--callbacks 2000] [--streams 100]
Needs PostgreSQL on 127.0.0.1:5432 (a throwaway database is created and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.api_server import start_api  # noqa: E402  (ROOT first on sys.path)
from benchmarks.http_load import load, request_bytes  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def make_jobs(n: int, user_id: uuid.UUID) -> list[uuid.UUID]:
    from api.db.models import DiagnosticJob, JobStatus
    from api.db.session import new_session

    with new_session() as db:
        jobs = [
            DiagnosticJob(user_id=user_id, task_type="diagnostic", framework="none", status=JobStatus.RUNNING, attempt=1)
            for _ in range(n)
        ]  # fmt: skip
        db.add_all(jobs)
        db.commit()
        return [j.id for j in jobs]


def token_for(job_id: uuid.UUID) -> str:
    from api.db.models import JobKind
    from api.services.jobs import tokens
    from api.settings import get_settings

    return tokens.create(get_settings(), job_id, JobKind.DIAGNOSTIC, 1, 3600)


async def sse_latency(
    base: str, jobs: list[uuid.UUID], tokens_: dict, login: str, rounds: int
) -> list[float]:
    sent: dict[tuple[str, int], float] = {}
    latencies: list[float] = []
    ready = asyncio.Event()
    opened = 0

    async def watch(client: httpx.AsyncClient, job_id: uuid.UUID) -> None:
        nonlocal opened
        headers = {
            "Accept": "text/event-stream",
            "Authorization": f"Bearer {login}",
            "Last-Event-ID": "0",
        }
        async with client.stream("GET", f"/api/v1/jobs/{job_id}/events", headers=headers) as r:
            opened += 1
            if opened == len(jobs):
                ready.set()
            data = None
            async for line in r.aiter_lines():
                if line.startswith("data:"):
                    data = json.loads(line[5:])
                elif not line and data is not None:
                    if data["type"] == "heartbeat":
                        key = (str(job_id), int(data["data"]["epoch"]))
                        latencies.append(time.perf_counter() - sent[key])
                        if int(data["data"]["epoch"]) == rounds:
                            return
                    data = None

    limits = httpx.Limits(max_connections=len(jobs) + 10)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        watchers = [asyncio.create_task(watch(client, j)) for j in jobs]
        await asyncio.wait_for(ready.wait(), 60)
        await asyncio.sleep(0.5)
        for seq in range(1, rounds + 1):
            for job_id in jobs:
                sent[(str(job_id), seq)] = time.perf_counter()
                r = await client.post(
                    f"/api/v1/jobs/{job_id}/heartbeat",
                    json={"attempt": 1, "seq": seq, "epoch": seq},
                    headers={"Authorization": f"Bearer {tokens_[job_id]}"},
                )
                r.raise_for_status()
            await asyncio.sleep(0.2)
        await asyncio.wait_for(asyncio.gather(*watchers), 120)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--callbacks", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8, help="concurrent reporting workers")
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--dispatches", type=int, default=10)
    parser.add_argument("--server-workers", type=int, default=1, help="API processes (replicas)")
    parser.add_argument("--parts", default="callbacks,sse,dispatch", help="which figures to take")
    args = parser.parse_args()

    db_name = f"vap_bench_{secrets.token_hex(4)}"
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    data_dir = Path(tempfile.mkdtemp(prefix="vap-bench-"))
    secret = secrets.token_hex(32)
    os.environ.update(
        {"DATABASE_URL": f"{PG}/{db_name}", "SECRET_KEY": secret, "DATA_DIR": str(data_dir)}
    )
    from api.db import migrate

    migrate.upgrade()
    env = {**os.environ, "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    # One process per replica on its own port, connections spread evenly over them: with
    # `uvicorn --workers` the kernel hands keep-alive connections to whichever worker
    # accepts first, often most to one, and the figures swung by half between runs.
    replicas = [start_api(env) for _ in range(args.server_workers)]
    bases = [b for _, b in replicas]
    base = bases[0]
    try:
        with httpx.Client(base_url=base, timeout=30) as c:
            c.post(
                "/api/v1/auth/register",
                json={"email": "b@example.com", "password": "bench password"},
            )
            me = c.post(
                "/api/v1/auth/login",
                data={"username": "b@example.com", "password": "bench password"},
            ).json()
            login = me["access_token"]
            user_id = uuid.UUID(
                c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {login}"}).json()["id"]
            )

        parts = set(args.parts.split(","))
        # 1. callbacks vs /health
        jobs = make_jobs(args.workers, user_id)
        toks = {j: token_for(j) for j in jobs}
        # Each worker reports on its own job, one callback at a time, as functions do.
        per_job = args.callbacks // len(jobs)
        beats = [
            [request_bytes(base, "POST", f"/api/v1/jobs/{j}/heartbeat", {"attempt": 1, "seq": s, "progress": 1.0}, {"Authorization": f"Bearer {toks[j]}"})
             for s in range(1, per_job + 2)]
            for j in jobs
        ]  # fmt: skip
        health = [[request_bytes(base, "GET", "/health")] * per_job] * len(jobs)
        # Warm up first (each server process builds its routes on its first requests):
        # some /health and each job's first heartbeat.
        load(bases, [h[:25] + b[:1] for h, b in zip(health, beats, strict=True)])
        hb = load(bases, health)
        cb = load(bases, [b[1:] for b in beats])
        hb_lat, cb_lat = hb.latencies, cb.latencies
        print(
            f"callbacks: {len(cb_lat)} heartbeats from {args.workers} concurrent workers, {args.server_workers} API process(es)"
        )
        print(
            f"  baseline GET /health: {hb.rate:7.0f} req/s  p50 {pct(hb_lat, 0.5) * 1000:6.1f} ms  p99 {pct(hb_lat, 0.99) * 1000:6.1f} ms"
        )
        print(
            f"  heartbeat callbacks:  {cb.rate:7.0f} req/s  p50 {pct(cb_lat, 0.5) * 1000:6.1f} ms  p99 {pct(cb_lat, 0.99) * 1000:6.1f} ms"
        )
        print(f"  throughput ratio callbacks / health: {cb.rate / hb.rate:.2f}")

        # 2. SSE delivery with N open streams
        if "sse" not in parts:
            return
        stream_jobs = make_jobs(args.streams, user_id)
        stream_toks = {j: token_for(j) for j in stream_jobs}
        lat = asyncio.run(sse_latency(base, stream_jobs, stream_toks, login, rounds=5))
        print(
            f"SSE: {args.streams} open streams, {len(lat)} events: send -> received p50 {statistics.median(lat) * 1000:.1f} ms, p99 {pct(lat, 0.99) * 1000:.1f} ms"
        )

        # 3. dispatch latency
        if "dispatch" not in parts:
            return
        # The jobs above stand for workers that never end: end them, or the per-user limit
        # on running jobs puts each new one in line behind them (and this part waited forever).
        with psycopg.connect(f"{PG}/{db_name}", autocommit=True) as conn:
            conn.execute(
                "UPDATE diagnostic_jobs SET status = 'cancelled', queue_position = NULL"
                " WHERE status IN ('pending', 'queued', 'running')"
            )
        spans = []
        with httpx.Client(
            base_url=base, timeout=30, headers={"Authorization": f"Bearer {login}"}
        ) as c:
            for _ in range(args.dispatches):
                t = time.perf_counter()
                job = c.post(
                    "/api/v1/diagnostics/jobs", json={"heartbeats": 1, "interval": 0}
                ).json()
                while True:
                    events = c.get(f"/api/v1/jobs/{job['id']}/events", params={"after": 0}).json()[
                        "events"
                    ]
                    if any(e["type"] == "log" for e in events):
                        break
                    time.sleep(0.005)
                spans.append(time.perf_counter() - t)
        print(
            f"dispatch: POST -> worker's first callback, median of {len(spans)}: {statistics.median(spans) * 1000:.0f} ms (min {min(spans) * 1000:.0f} ms)"
        )
    finally:
        for proc, _ in replicas:
            proc.terminate()
            proc.wait(timeout=30)
        from api.db.session import get_engine

        get_engine().dispose()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
