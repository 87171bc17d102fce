# ruff: noqa: E501  (report lines read better whole)
"""The pay-per-call endpoint against ONNX Runtime itself, on this machine.

A real API process (uvicorn, one worker, PostgreSQL, local storage) serves
`POST /v1/infer/{id}` for a ResNet-18 at 224 px (timm, random weights) and a YOLO11n at
640 px (Ultralytics, random weights, built from its yaml) exported to ONNX by
`exporters.registry.export`. For each model, on the same image (--image: a real photo, by default, or random noise):

- raw: `session.run` of an in-process ONNX Runtime session on the already preprocessed
  input (no decoding, no pre/post-processing): the floor;
- predict: `vap_runtime.Model.predict` in-process (decode, preprocess, run, postprocess):
  what the endpoint runs per call;
- endpoint: HTTP calls with a base64 JSON body (auth, limits, metering included), sent
  by benchmarks/http_load.py (raw sockets, the request serialized once: a client that
  costs the shared cores next to nothing, as a remote caller would);
- ultralytics: `YOLO.predict` on the same image (YOLO only).

Latency is measured one call at a time, the figures interleaved call by call (raw, predict,
endpoint, raw, ...: --requests of each), so a neighbour's load on a shared machine weighs on
each alike; the endpoint's calls go over one keep-alive connection. raw and predict share
one session whose threads stop spinning as each run ends (session.force_spinning_stop:
they spin during a run as by default, but do not take the next figure's CPU after it).
Throughput (the median of three rounds) with --concurrency clients (keep-alive
connections; for raw/predict, threads calling the same session). The enterprise tier allows 1000 calls a minute, less than this machine serves,
so a side thread zeroes the deployment's minute counter every 0.25 s: the limiter still
runs its UPSERTs on every call, it just never refuses.

Run: python benchmarks/endpoint_throughput.py [--requests 200] [--concurrency 4] [--models resnet18,yolo11n] [--image photo|noise]
Needs PostgreSQL on 127.0.0.1:5432 (a throwaway database is created and dropped), and the
worker extra (torch, timm, ultralytics) to build the models.
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
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.api_server import start_api  # noqa: E402  (ROOT first on sys.path)
from benchmarks.http_load import Connection, load, request_bytes  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def image_bytes(width: int, height: int, kind: str = "photo") -> bytes:
    """A JPEG (quality 90) of `width` x `height`: "photo", Ultralytics' zidane.jpg (a real
    photo that ships in its wheel) cropped to the aspect ratio and resized, or "noise",
    random pixels (the worst case for JPEG decoding and for the base64 body: ~4x the
    bytes of a photo)."""
    import numpy as np
    from PIL import Image

    if kind == "noise":
        pixels = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
        picture = Image.fromarray(pixels)
    else:
        import ultralytics

        with Image.open(Path(ultralytics.__file__).parent / "assets" / "zidane.jpg") as source:
            w, h = source.size
            crop_w = min(w, round(h * width / height))
            left = (w - crop_w) // 2
            picture = source.convert("RGB").crop((left, 0, left + crop_w, h))
            picture = picture.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=90)
    return out.getvalue()


def sequential(fn: Callable[[], Any], n: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return times


def concurrent(make: Callable[[], Callable[[], Any]], n: int, workers: int) -> float:
    """Calls per second of `n` calls from `workers` threads (each with its own callable)."""
    per_thread = [make() for _ in range(workers)]
    for fn in per_thread:
        fn()  # warm each client / connection
    counter = iter(range(n))
    lock = threading.Lock()

    def run(fn: Callable[[], Any]) -> None:
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            fn()

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(run, per_thread))
    return n / (time.perf_counter() - started)


def yolo_export(folder: Path) -> Any:
    """YOLO11n from its yaml (random weights), saved as the platform's Ultralytics trainer
    saves checkpoints, exported to ONNX at 640."""
    import hashlib

    from exporters.package import build_package
    from exporters.registry import export
    from tests.test_deployments import Exported
    from trainers import offline

    offline.apply()
    from ultralytics import YOLO

    from trainers.ultralytics_infer import write_checkpoint

    yolo = YOLO("yolo11n.yaml")
    yolo.save(str(folder / "raw.pt"))
    meta = {"task_type": "object_detection", "class_names": [str(i) for i in range(80)],
            "image_size": 640, "model_name": "yolo11n"}  # fmt: skip
    checkpoint = write_checkpoint(folder / "raw.pt", folder / "best.pt", meta)
    result = export(checkpoint, "ultralytics", "onnx", folder / "export", latency_runs=1)
    package = build_package(result, folder / "package.zip")
    digest = hashlib.sha256(result.model_file.read_bytes()).hexdigest()
    exported = Exported(
        result.model_file.parent, result.model_file, result.metadata_file, package, digest
    )
    return exported, yolo, checkpoint


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--models", default="resnet18,yolo11n")
    parser.add_argument("--image", choices=("photo", "noise"), default="photo")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vap-bench-endpoint-"))
    db_name = f"vap_bench_{secrets.token_hex(4)}"
    db_url = f"{PG}/{db_name}"
    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": secrets.token_hex(24),
           "DATA_DIR": str(work / "api"), "STORAGE_BACKEND": "local",
           "STORAGE_LOCAL_ROOT": str(work / "storage"), "LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    os.environ.update(
        {
            k: env[k]
            for k in (
                "DATABASE_URL",
                "SECRET_KEY",
                "DATA_DIR",
                "STORAGE_BACKEND",
                "STORAGE_LOCAL_ROOT",
                "LOG_LEVEL",
            )
        }
    )
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    proc = None
    try:
        from api.db import migrate

        migrate.upgrade()
        proc, base = start_api(env)
        api = httpx.Client(base_url=base, timeout=60)
        email, password = f"bench-{uuid.uuid4().hex[:8]}@example.com", "bench password 123"
        api.post("/api/v1/auth/register", json={"email": email, "password": password})
        token = api.post(
            "/api/v1/auth/login", data={"username": email, "password": password}
        ).json()["access_token"]
        api.headers["Authorization"] = f"Bearer {token}"
        user_id = api.get("/api/v1/auth/me").json()["id"]
        from tests.test_deployments import export_row, exported_model, training_job

        job = training_job(api)
        import onnxruntime as ort

        print(f"onnxruntime {ort.__version__}, providers {ort.get_available_providers()}, {os.cpu_count()} CPUs; "
              f"{args.requests} calls per figure, concurrency {args.concurrency}, image: {args.image}")  # fmt: skip
        rows = []
        for name in args.models.split(","):
            if name == "resnet18":
                exported, yolo, size = exported_model("resnet18", 224), None, (320, 240)
                kind = {"task_type": "image_classification", "framework": "timm"}
            elif name == "yolo11n":
                try:
                    exported, yolo, _ = yolo_export(Path(tempfile.mkdtemp(dir=work)))
                except Exception as exc:  # Ultralytics' ONNX export not available here
                    print(f"yolo11n skipped: {type(exc).__name__}: {exc}")
                    continue
                size, kind = (
                    (640, 480),
                    {"task_type": "object_detection", "framework": "ultralytics"},
                )
            else:
                raise SystemExit(f"unknown model {name}")
            rows.append(
                bench(name, api, base, user_id, job, exported, yolo, size, kind, args, export_row)
            )
        print()
        print(f"{'model':10} {'figure':12} {'p50 ms':>8} {'p99 ms':>8} {'calls/s':>8}")
        for name, figures in rows:
            for figure, (p50, p99, rate) in figures.items():
                print(f"{name:10} {figure:12} {p50:8.2f} {p99:8.2f} {rate:8.1f}")
            e, r, p = figures["endpoint"], figures["raw"], figures["predict"]
            print(f"{name:10} endpoint p50 overhead: {e[0] - r[0]:.2f} ms over raw session.run, "
                  f"{e[0] - p[0]:.2f} ms over vap_runtime predict; throughput {e[2] / r[2]:.2f} of raw, "
                  f"{e[2] / p[2]:.2f} of predict")  # fmt: skip
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
        from api.db.session import get_engine

        get_engine().dispose()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)


def bench(name, api, base, user_id, job, exported, yolo, size, kind, args, export_row):  # type: ignore[no-untyped-def]
    import onnxruntime as ort
    from sqlalchemy import update

    from api.db.models import EndpointCounter
    from api.db.session import new_session
    from vap_runtime import Model

    export_id = export_row(user_id, job, exported, **kind)
    created = api.post("/api/v1/deployments", json={"export_job_id": export_id, "strategy": "platform_endpoint",
                                                    "name": name, "tier": "enterprise"}).json()  # fmt: skip
    key = created["api_key"]
    image = image_bytes(*size, kind=args.image)
    body = {"image": base64.b64encode(image).decode()}

    stop = threading.Event()

    def reset_counter() -> None:
        while not stop.is_set():
            with new_session() as db:
                db.execute(
                    update(EndpointCounter)
                    .where(EndpointCounter.period == "minute")
                    .values(count=0)
                )
                db.commit()
            stop.wait(0.25)

    resetter = threading.Thread(target=reset_counter, daemon=True)
    resetter.start()

    options = ort.SessionOptions()
    options.add_session_config_entry("session.force_spinning_stop", "1")
    session = ort.InferenceSession(
        str(exported.model_file), sess_options=options, providers=["CPUExecutionProvider"]
    )
    input_name = session.get_inputs()[0].name
    model = Model(exported.folder, runner=lambda batch: session.run(None, {input_name: batch}))
    x, _ = model.preprocess(image)
    feed = {input_name: x}

    request = request_bytes(
        base, "POST", f"/v1/infer/{created['id']}", body, {"Authorization": f"Bearer {key}"}
    )
    server_sequential: list[float] = []  # the endpoint's own latency_ms

    def endpoint_call() -> float:
        elapsed, body = connection.call(request)
        server_sequential.append(json.loads(body)["latency_ms"])
        return elapsed * 1000

    def endpoint_concurrent(n: int, c: int) -> float:
        load(base, [[request]] * c)  # open and warm each connection
        return load(base, [[request] * (n // c)] * c).rate

    figures: dict[str, tuple[float, float, float]] = {}
    n, c = args.requests, args.concurrency
    makers = {
        "raw": lambda: lambda: session.run(None, feed),
        "predict": lambda: lambda: model.predict(image),
    }
    figure_names = [*makers, "endpoint"]
    connection = Connection(base)
    calls: dict[str, Callable[[], Any]] = {name: makers[name]() for name in makers}
    times: dict[str, list[float]] = {figure: [] for figure in figure_names}
    for i in range(n + 5):  # the first 5 of each warm up
        for figure in figure_names:
            if figure == "endpoint":
                elapsed = endpoint_call()
            else:
                t = time.perf_counter()
                calls[figure]()
                elapsed = (time.perf_counter() - t) * 1000
            if i >= 5:
                times[figure].append(elapsed)
    connection.close()
    del server_sequential[:5]
    # Throughput: rounds of blocks, each figure's threads alone on the machine in turn.
    rates: dict[str, list[float]] = {figure: [] for figure in figure_names}
    for _ in range(3):
        for figure in figure_names:
            time.sleep(0.2)
            if figure == "endpoint":
                rates[figure].append(endpoint_concurrent(n, c))
            else:
                rates[figure].append(concurrent(makers[figure], n, c))
    for figure in figure_names:
        t = times[figure]
        figures[figure] = (statistics.median(t), pct(t, 0.99), statistics.median(rates[figure]))
        print(f"{name} {figure}: p50 {figures[figure][0]:.2f} ms, p99 {figures[figure][1]:.2f} ms, "
              f"{figures[figure][2]:.1f} calls/s (rounds {', '.join(f'{r:.1f}' for r in rates[figure])})")  # fmt: skip
    print(f"{name} endpoint latency_ms as the API reports it (auth, limits, body, predict; "
          f"not HTTP or metering), calls one at a time: p50 {statistics.median(server_sequential):.2f} ms")  # fmt: skip
    if yolo is not None:
        from PIL import Image

        picture = Image.open(io.BytesIO(image)).convert("RGB")
        times = sequential(
            lambda: yolo.predict(picture, imgsz=640, device="cpu", verbose=False), max(n // 4, 20)
        )
        figures["ultralytics"] = (
            statistics.median(times),
            pct(times, 0.99),
            1000 / statistics.mean(times),
        )
        print(f"{name} ultralytics YOLO.predict: p50 {figures['ultralytics'][0]:.2f} ms")
    stop.set()
    resetter.join()
    return name, figures


if __name__ == "__main__":
    main()
