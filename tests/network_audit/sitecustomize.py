"""Loaded by every Python process started with this folder on PYTHONPATH (the audited
API and the workers its runner starts): records each attempt to reach a host that is
not this machine, so a test can prove nothing touches the network. Test-only."""

import os
import sys

_LOG = os.environ.get("VAP_TEST_NETWORK_LOG")
_LOCAL = ("127.", "localhost", "::1", "0.0.0.0")
_WHO = f"{os.getpid()} {' '.join(sys.orig_argv[:4]).replace(chr(10), ' ')}"


def _host(event: str, args: tuple) -> str | None:
    target = args[1] if event == "socket.connect" else args[0]
    if isinstance(target, tuple):
        target = target[0]
    if isinstance(target, bytes):
        target = target.decode(errors="replace")
    if target is None or not isinstance(target, str) or target.startswith("/") or not target:
        return None  # unix sockets, or nothing named
    return None if target.startswith(_LOCAL) else target


def _hook(event: str, args: tuple) -> None:
    if event in ("socket.connect", "socket.getaddrinfo"):
        host = _host(event, args)
        if host is not None:
            with open(_LOG, "a") as f:  # type: ignore[arg-type]
                f.write(f"{_WHO} {event} {host}\n")


if _LOG:
    with open(_LOG, "a") as f:
        f.write(f"{_WHO} armed\n")
    sys.addaudithook(_hook)
