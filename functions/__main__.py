"""`python -m functions [SPEC_FILE]`: run the function a JobSpec names. The spec comes
from the file, else from the VAP_JOB_SPEC environment variable (how the Docker runner
passes it), else from stdin. The worker image's entry point."""

from __future__ import annotations

import json
import os
import sys

from functions.runtime import run_spec


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        with open(argv[1]) as f:
            raw = f.read()
    else:
        raw = os.environ.get("VAP_JOB_SPEC") or sys.stdin.read()
    return run_spec(json.loads(raw))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
