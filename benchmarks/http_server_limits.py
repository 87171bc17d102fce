"""Probes of `vap serve` under hostile clients: one huge header, and slowloris sockets.

    python benchmarks/http_server_limits.py [--header-mb 64] [--sockets 100] [--hold 30]

Starts `vap serve` (one worker, no reconciler) on an embedded SQLite install in a
temporary folder, then:
- sends one request whose single header is `--header-mb` MB, and reports how the
  server answered, after how long, and its resident memory (VmRSS) and peak (VmHWM)
  before and after, read from /proc;
- opens `--sockets` connections that send a request head one byte every half second
  (some send nothing at all) and reports how long the server kept each open, up to
  `--hold` seconds.
Extra settings go through the environment (HTTP_HEADER_TIMEOUT_SECONDS=2 ...).
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def start_serve(data_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATA_DIR": str(data_dir), "DATABASE_URL": "", "LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--reconcile-every", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).parents[1],
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("vap serve did not start")


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (the peak) of `pid`, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


def huge_header(port: int, megabytes: int) -> dict[str, object]:
    chunk = b"a" * (1 << 20)
    sent = 0
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        try:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: probe\r\nX-Big: ")
            for _ in range(megabytes):
                s.sendall(chunk)
                sent += len(chunk)
            s.sendall(b"\r\n\r\n")
        except OSError:
            pass  # the server stopped reading: what it answered is read below
        answer = b""
        try:
            while data := s.recv(65536):
                answer += data
                if b"\r\n\r\n" in answer and b"connection: close" not in answer.lower():
                    break  # a keep-alive answer: the head is all we need
        except OSError:
            pass
    return {
        "status_line": answer.split(b"\r\n", 1)[0].decode(errors="replace"),
        "header_mb_sent": round(sent / (1 << 20), 1),
        "seconds": round(time.monotonic() - started, 2),
    }


def slowloris(port: int, count: int, hold: float) -> list[float]:
    """How long the server kept each of `count` slow sockets open (capped at `hold`)."""
    head = b"GET /health HTTP/1.1\r\nHost: probe\r\n" + b"X-Slow: a\r\n" * 10_000
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
    for s in sockets:
        s.setblocking(False)
    opened = time.monotonic()
    closed_after: dict[int, float] = {}
    position = 0
    while len(closed_after) < count and time.monotonic() - opened < hold:
        for i, s in enumerate(sockets):
            if i in closed_after:
                continue
            readable, _, _ = select.select([s], [], [], 0)
            try:
                if readable and not s.recv(65536):
                    raise ConnectionResetError
                if i % 10:  # one socket in ten sends nothing at all
                    s.send(head[position : position + 1])
            except OSError:
                closed_after[i] = time.monotonic() - opened
        position += 1
        time.sleep(0.5)
    for s in sockets:
        s.close()
    return [round(closed_after.get(i, hold), 1) for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--header-mb", type=int, default=64)
    parser.add_argument("--sockets", type=int, default=100)
    parser.add_argument("--hold", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vap-limits-") as data_dir:
        proc, port = start_serve(Path(data_dir))
        try:
            before = memory_mb(proc.pid)
            result = huge_header(port, args.header_mb)
            after = memory_mb(proc.pid)
            print(f"{args.header_mb} MB header: {result}")
            print(f"  server memory before: {before}  after: {after}")
            still = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code
            print(f"  /health afterwards: {still}")
            held = slowloris(port, args.sockets, args.hold)
            still_open = sum(1 for h in held if h >= args.hold)
            print(
                f"{args.sockets} slow sockets: closed by the server after"
                f" {min(held)}..{max(held)} s; {still_open} still open at {args.hold} s"
            )
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
