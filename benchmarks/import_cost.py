"""Cold-import cost of the API (what a Lambda cold start pays) against a bare FastAPI app.

Each sample is a fresh interpreter; both are sampled alternately in the same run so
machine noise hits them alike. Run: python benchmarks/import_cost.py [--runs 21]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "import fastapi; fastapi.FastAPI()"
SUBJECT = "import api.main"


def sample(code: str, cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "DATA_DIR": cwd},
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cwd:
        sample(SUBJECT, cwd)  # warm the OS page cache for both
        sample(BASELINE, cwd)
        base, subj, empty = [], [], []
        for _ in range(args.runs):
            empty.append(sample("pass", cwd))
            base.append(sample(BASELINE, cwd))
            subj.append(sample(SUBJECT, cwd))
    interp = statistics.median(empty)
    b, s = statistics.median(base), statistics.median(subj)
    print(f"runs per variant:           {args.runs}")
    print(f"bare interpreter (median):  {interp * 1000:7.1f} ms")
    print(
        f"import fastapi + app:       {b * 1000:7.1f} ms"
        f"  (imports only: {(b - interp) * 1000:.1f} ms)"
    )
    print(
        f"import api.main:            {s * 1000:7.1f} ms"
        f"  (imports only: {(s - interp) * 1000:.1f} ms)"
    )
    print(
        f"ratio api.main / fastapi:   {s / b:.2f} (whole process),"
        f" {(s - interp) / (b - interp):.2f} (imports only)"
    )


if __name__ == "__main__":
    main()
