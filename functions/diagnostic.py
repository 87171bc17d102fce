"""The diagnostic function: exercises a runner and the callbacks, nothing else.

config: heartbeats (how many), interval (seconds between them), fail (end `failed`),
crash_after (on the first attempt, exit abruptly after that many heartbeats, as a lost
worker would; a retry then runs through).
"""

from __future__ import annotations

import os
import sys
import time

from functions.client import JobClient, load_spec
from functions.runtime import run_spec


def run(client: JobClient) -> int:
    config = client.spec.config
    beats = int(config.get("heartbeats", 3))
    interval = float(config.get("interval", 0.2))
    crash_after = config.get("crash_after")
    client.listen_for_termination()
    client.event("log", message=f"diagnostic attempt {client.spec.attempt} on pid {os.getpid()}")
    for i in range(1, beats + 1):
        if client.cancelled:
            return 0  # the API knows: it cancelled us
        client.heartbeat(
            progress=100 * i / beats, metrics={"step": float(i)}, message=f"beat {i}/{beats}"
        )
        if crash_after is not None and i >= int(crash_after) and client.spec.attempt == 1:
            os._exit(137)  # no goodbye, as when a machine disappears
        time.sleep(interval)
    if client.cancelled:
        return 0
    if config.get("fail"):
        client.done("failed", error="failed on request (diagnostic config: fail)")
        return 1
    client.done("completed", metrics={"heartbeats": beats})
    return 0


if __name__ == "__main__":
    raise SystemExit(run_spec(load_spec(sys.argv)))
