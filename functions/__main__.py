"""`python -m functions [SPEC_FILE]`: the one way every runner starts a job
(functions/harness.py runs it). The spec comes from the file, else from the VAP_JOB_SPEC
environment variable (how the Docker runner passes it), else from stdin. The worker
image's entry point; Modal's functions call the same `run_spec` with the spec as a dict.

`python -m functions capabilities` prints what this worker environment can do, as JSON
(functions/capabilities.py): how every runner learns its workers' capabilities."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if argv[1:] == ["capabilities"]:
        from functions.capabilities import main as capabilities

        return capabilities()
    if len(argv) > 1:
        raw = Path(argv[1]).read_text()
    else:
        raw = os.environ.get("VAP_JOB_SPEC") or sys.stdin.read()
    from functions.harness import run_spec

    return run_spec(json.loads(raw))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
