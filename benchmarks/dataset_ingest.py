"""Ingesting a 2,000-image archive through a real API process: images per second, the
server's CPU time (which a busy machine does not inflate, unlike wall time) and peak
memory, against the floor measured in the same run: unzipping the same archive and
opening and decoding each image once with Pillow, on as many threads as the ingest
decodes with (the least any ingest does; the one-thread floor is printed beside it).

Beside them, the ingest's own image scan (`scan_images`: decode, checks, sha256) run in
this process on the floor's unzipped folder, without and with the thumbnails that ingest
makes from the same decode: how much of the ratio the thumbnails are.

Each API process is fresh, and its first request to the datasets routes imports them
(Pillow, the formats' readers, their schemas: ~0.2 s here, once per process). A listing
of the datasets makes that request before the upload is timed, so that the figure is
the ingest's alone, as the floor's is the decode's alone; its time is printed apart.

Run: python benchmarks/dataset_ingest.py [--images 2000] [--runs 3]
The API runs on the embedded defaults (SQLite, local storage) in a temporary folder.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.services.datasets.images import decode_threads, scan_images  # noqa: E402
from api.services.datasets.problems import Problems  # noqa: E402
from tests.dataset_builders import real_photos  # noqa: E402


def build_archive(path: Path, n: int) -> int:
    """n JPEG crops (96 to 320 px) of the real photos that ship in packages, in 10 classes."""
    rng = random.Random(0)
    photos = [Image.open(p).convert("RGB") for p in real_photos()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(n):
            photo = photos[i % len(photos)]
            size = rng.randint(96, min(320, photo.width, photo.height))
            x = rng.randint(0, photo.width - size)
            y = rng.randint(0, photo.height - size)
            buf = io.BytesIO()
            photo.crop((x, y, x + size, y + size)).save(buf, format="JPEG", quality=85)
            split = "val" if i % 5 == 0 else "train"
            zf.writestr(f"{split}/class_{i % 10}/{i:05d}.jpg", buf.getvalue())
    return path.stat().st_size


def floor(archive: Path, work: Path, threads: int) -> float:
    """Unzip, then open and fully decode every image once on `threads` threads: seconds."""
    started = time.perf_counter()
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(work)

    def decode(path: Path) -> None:
        with Image.open(path) as img:
            img.load()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(decode, work.rglob("*.jpg")))
    return time.perf_counter() - started


def scan(folder: Path, thumbnails: Path | None) -> float:
    """Seconds of the ingest's image scan over every image in `folder`, writing their
    thumbnails to `thumbnails` when given."""
    files = [str(p.relative_to(folder)) for p in sorted(folder.rglob("*.jpg"))]
    started = time.perf_counter()
    scan_images(folder, files, Problems(), 2**31, thumbnails)  # no image nears a limit
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads): unlike wall time,
    what other work on the machine does not inflate."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ingest_once(archive: Path, work: Path) -> tuple[float, float, int, float, float]:
    """Start a fresh API, list its datasets, upload the archive, wait for the answer:
    (seconds, peak MB, images, server CPU seconds, seconds of the listing)."""
    port = free_port()
    data_dir = work / f"data-{port}"
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "API_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env=env,
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        account = {"email": "bench@example.com", "password": "benchmark password"}
        httpx.post(f"{base}/api/v1/auth/register", json=account).raise_for_status()
        token = httpx.post(
            f"{base}/api/v1/auth/login",
            data={"username": account["email"], "password": account["password"]},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        listed = time.perf_counter()
        httpx.get(f"{base}/api/v1/datasets", headers=headers).raise_for_status()
        first_request = time.perf_counter() - listed
        cpu_before = cpu_seconds(server.pid)
        started = time.perf_counter()
        with open(archive, "rb") as f:
            r = httpx.post(
                f"{base}/api/v1/datasets",
                data={"name": "bench"},
                files={"files": (archive.name, f, "application/zip")},
                headers=headers,
                timeout=600,
            )
        elapsed = time.perf_counter() - started
        body = r.json()
        assert body.get("status") == "ready", body
        cpu = cpu_seconds(server.pid) - cpu_before
        return elapsed, peak_rss_mb(server.pid), body["num_images"], cpu, first_request
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    threads = decode_threads()  # what the API's ingest decodes with on this machine
    with tempfile.TemporaryDirectory(prefix="vap-bench-") as tmp:
        work = Path(tmp)
        archive = work / "bench.zip"
        size = build_archive(archive, args.images)
        floors, serial_floors, times, peaks, cpus, firsts = [], [], [], [], [], []
        scans, thumbed = [], []
        for run in range(args.runs):
            # Interleaved with the ingests, so that a change in the machine's load
            # weighs on both alike.
            floors.append(floor(archive, work / f"f{run}", threads))
            scans.append(scan(work / f"f{run}", None))
            thumbed.append(scan(work / f"f{run}", work / f"t{run}"))
            serial_floors.append(floor(archive, work / f"s{run}", 1))
            seconds, peak, n, cpu, first_request = ingest_once(archive, work)
            assert n == args.images
            times.append(seconds)
            peaks.append(peak)
            cpus.append(cpu)
            firsts.append(first_request)
        f, f1 = statistics.median(floors), statistics.median(serial_floors)
        t = statistics.median(times)
        n = args.images
        print(f"archive: {n} JPEGs, {size / 2**20:.1f} MiB; runs: {args.runs}; load {_load()}")
        for label, seconds in (
            (f"floor, unzip + decode, {threads} threads (median)", f),
            ("floor, unzip + decode, 1 thread (median)", f1),
            ("API ingest (median)", t),
        ):
            print(f"{label + ':':46s} {seconds:6.2f} s  {n / seconds:7.0f} images/s")
        print(f"{f'ratio ingest / floor ({threads} threads):':46s} {t / f:6.2f}")
        print(f"{'ratio ingest / floor (1 thread):':46s} {t / f1:6.2f}")
        no_thumbs, thumbs = statistics.median(scans), statistics.median(thumbed)
        print(f"{'image scan in process, no thumbnails:':46s} {no_thumbs:6.2f} s")
        print(f"{'image scan in process, with thumbnails:':46s} {thumbs:6.2f} s")
        print(f"API CPU time of the ingest (median):  {statistics.median(cpus):6.2f} s")
        print(f"API peak RSS (median, whole process): {statistics.median(peaks):.0f} MiB")
        print(
            f"first datasets request, not timed above:  {statistics.median(firsts) * 1000:.0f} ms"
        )


def _load() -> str:
    """The machine's load averages (1, 5, 15 minutes): what the wall times ran beside."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
