"""`vap serve`'s HTTP server under hostile clients, through raw sockets on loopback:
request heads are bounded in size and in time, and an unexpected error leaves a
kept-alive connection usable. Each test runs the real command as its own process."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).parents[1]
MB = 1 << 20

# `vap serve` whose app has one more route, failing the way a bug would.
WITH_A_FAILING_ROUTE = """
import sys

from fastapi import APIRouter

import api.main
from api.cli import app

router = APIRouter()


@router.get("/boom")
def explode() -> None:
    raise RuntimeError("a bug")


api.main.app.include_router(router)
app(sys.argv[1:], prog_name="vap")
"""


@dataclass
class Server:
    pid: int
    port: int
    log: Path


@contextlib.contextmanager
def vap_serve(tmp_path: Path, code: str | None = None, **env: str) -> Iterator[Server]:
    """`vap serve` (one process, no background reconciler) on a free loopback port, on
    the test database, with `env` added to its environment; stopped afterwards."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    entry = ["-c", code] if code else ["-m", "api.cli"]
    command = [sys.executable, *entry, "serve", "--port", str(port), "--reconcile-every", "0"]
    log = tmp_path / f"serve-{port}.log"
    environment = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "API_BASE_URL": f"http://127.0.0.1:{port}",
        "PYTHONPATH": str(ROOT),
        **env,
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command, env=environment, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
            start_new_session=True,
        )  # fmt: skip
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            assert proc.poll() is None, log.read_text()[-3000:]
            time.sleep(0.1)
        else:
            raise AssertionError(log.read_text()[-3000:])
        yield Server(proc.pid, port, log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def read_until_closed(s: socket.socket) -> bytes:
    """All the server sends until it closes the connection (a reset counts as closing);
    socket.timeout if it keeps it open past the socket's timeout."""
    received = b""
    try:
        while data := s.recv(65536):
            received += data
    except ConnectionResetError:
        pass
    return received


@dataclass
class Answer:
    status: int | None  # None: the connection closed before a whole answer came
    head: bytes
    body: bytes


def read_answer(s: socket.socket) -> Answer:
    """One whole HTTP answer with a Content-Length from `s`, leaving the connection open."""
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while b"\r\n\r\n" not in received and (data := s.recv(65536)):
            received += data
        head, _, body = received.partition(b"\r\n\r\n")
        lengths = [
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")[1:]
            if line.lower().startswith(b"content-length:")
        ]
        if lengths:
            while len(body) < lengths[0] and (data := s.recv(65536)):
                body += data
            if len(body) == lengths[0]:
                return Answer(int(head.split()[1]), head, body)
    return Answer(None, received, b"")


def test_a_64_mb_header_is_refused_without_the_server_holding_it(tmp_path):
    with vap_serve(tmp_path) as server:
        before = peak_memory_mb(server.pid)
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            try:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Big: ")
                for _ in range(64):
                    s.sendall(b"a" * MB)
                s.sendall(b"\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused while still sending: the answer is read below
            answer = read_until_closed(s)  # and the server closes the connection
        grown = peak_memory_mb(server.pid) - before
        assert httpx.get(f"http://127.0.0.1:{server.port}/health", timeout=10).status_code == 200
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    error = json.loads(answer.partition(b"\r\n\r\n")[2])["error"]
    assert error["code"] == "header_too_large" and "32 KB" in error["message"]
    # The old server read and answered the whole header, peaking 128 MB higher.
    assert grown < 16, f"the server's peak memory grew by {grown:.1f} MB"


def test_a_head_over_the_limit_is_refused_even_when_it_arrives_in_one_piece(tmp_path):
    def ask(s: socket.socket, header_bytes: int) -> bytes:
        s.sendall(
            b"GET /health HTTP/1.1\r\nHost: test\r\nX-Pad: %s\r\n\r\n" % (b"p" * header_bytes)
        )
        return read_answer(s).head

    with (
        vap_serve(tmp_path, HTTP_MAX_HEADER_KB="8") as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=30) as s,
    ):
        under = ask(s, 7 * 1024)
        over = ask(s, 9 * 1024)
        assert read_until_closed(s) == b""  # and then closed
    assert under.startswith(b"HTTP/1.1 200 ")
    assert over.startswith(b"HTTP/1.1 431 ") and b"connection: close" in over


def test_slow_and_silent_sockets_are_closed_after_the_header_timeout(tmp_path):
    """Slowloris: 40 sockets send a head one byte at a time, 5 do so after a first whole
    request on the same connection, 5 send nothing. The server closes every one after
    HTTP_HEADER_TIMEOUT_SECONDS (1 s here); the test gives up on it after 30 s."""
    head = b"GET /health HTTP/1.1\r\nHost: test\r\n" + b"X-Slow: a\r\n" * 1000
    with vap_serve(tmp_path, HTTP_HEADER_TIMEOUT_SECONDS="1") as server:
        address = ("127.0.0.1", server.port)
        slow = [socket.create_connection(address, timeout=10) for _ in range(40)]
        kept_alive = [socket.create_connection(address, timeout=10) for _ in range(5)]
        silent = [socket.create_connection(address, timeout=10) for _ in range(5)]
        for s in kept_alive:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
            assert read_answer(s).status == 200
        dribbling = slow + kept_alive
        answers: dict[socket.socket, bytes] = {}
        deadline = time.monotonic() + 30
        position = 0
        while len(answers) < 50 and time.monotonic() < deadline:
            for s in dribbling + silent:
                if s in answers:
                    continue
                readable, _, _ = select.select([s], [], [], 0)
                try:
                    if readable:
                        answers[s] = read_until_closed(s)
                    elif s in dribbling:
                        s.send(head[position : position + 1])
                except (BrokenPipeError, ConnectionResetError):
                    answers[s] = b""
            position += 1
            time.sleep(0.05)
        for s in dribbling + silent:
            s.close()
        still_open = 50 - len(answers)
        assert httpx.get(f"http://127.0.0.1:{server.port}/health", timeout=10).status_code == 200
    assert still_open == 0, f"{still_open} of 50 slow sockets still open after 30 s"
    assert all(answers[s].startswith(b"HTTP/1.1 408 ") for s in dribbling)
    assert all(answers[s] == b"" for s in silent)  # no answer to a request never begun


def test_requests_beyond_the_connection_limit_are_answered_503(tmp_path):
    with vap_serve(tmp_path, HTTP_MAX_CONNECTIONS="3") as server:
        address = ("127.0.0.1", server.port)
        held = [socket.create_connection(address, timeout=30) for _ in range(3)]
        with socket.create_connection(address, timeout=30) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
            crowded = read_answer(s)
        for s in held:
            s.close()
    assert crowded.status == 503


def test_an_unexpected_error_leaves_a_kept_alive_connection_usable(tmp_path):
    with vap_serve(tmp_path, WITH_A_FAILING_ROUTE) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            s.sendall(b"GET /boom HTTP/1.1\r\nHost: test\r\n\r\n")
            failed = read_answer(s)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
            next_one = read_answer(s)
        log = server.log.read_text()
    assert failed.status == 500 and b"connection: close" not in failed.head.lower()
    assert json.loads(failed.body)["error"]["code"] == "internal_error"
    assert next_one.status == 200, next_one.head
    assert "a bug" in log  # the error is logged, not lost
