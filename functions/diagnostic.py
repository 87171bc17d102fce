"""The diagnostic function: exercises a runner and the callbacks, nothing else.

config: heartbeats (how many), interval (seconds between them), fail (end `failed`),
crash_after (on the first attempt, exit abruptly after that many heartbeats, as a lost
worker would; a retry then runs through).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from functions.client import JobClient
from functions.harness import Finished


def run(client: JobClient, work: Path) -> Finished | None:
    config = client.spec.config
    beats = int(config.get("heartbeats", 3))
    interval = float(config.get("interval", 0.2))
    crash_after = config.get("crash_after")
    client.event("log", message=f"diagnostic attempt {client.spec.attempt} on pid {os.getpid()}")
    for i in range(1, beats + 1):
        if client.cancelled:
            return None
        client.heartbeat(
            progress=100 * i / beats, metrics={"step": float(i)}, message=f"beat {i}/{beats}"
        )
        if crash_after is not None and i >= int(crash_after) and client.spec.attempt == 1:
            os._exit(137)  # no goodbye, as when a machine disappears
        time.sleep(interval)
    if config.get("fail"):
        return Finished(error="failed on request (diagnostic config: fail)")
    return Finished(metrics={"heartbeats": beats})
