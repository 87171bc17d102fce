"""`python -m functions [SPEC_FILE]`: run the function a JobSpec names. The spec comes
from the file, else from the VAP_JOB_SPEC environment variable (how the Docker runner
passes it), else from stdin. The worker image's entry point.

`python -m functions capabilities` prints what this worker environment can do, as JSON
(functions/capabilities.py): how every runner learns its workers' capabilities."""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    if argv[1:] == ["capabilities"]:
        from functions.capabilities import main as capabilities

        return capabilities()
    if len(argv) > 1:
        with open(argv[1]) as f:
            raw = f.read()
    else:
        raw = os.environ.get("VAP_JOB_SPEC") or sys.stdin.read()
    from functions.runtime import run_spec

    return run_spec(json.loads(raw))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
