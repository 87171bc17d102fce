"""Lambda cold start of the packaged API against a bare FastAPI app under Mangum.

A sample is one fresh process of the Lambda package (scripts/lambda_package.py), run
as the runtime runs it (lambda_package.local_runtime), from process start to the
answer to its first event, `GET /health` as API Gateway (HTTP API) sends it. The API
uses the embedded defaults (SQLite and local storage in a temporary DATA_DIR, created
before sampling, as a deployed database is migrated before its first request). The
baseline is a FastAPI app with that one route wrapped in Mangum, imported from the same
package folder; the API is also sampled without the package's bytecode, which shows what
shipping it saves. Variants alternate so machine noise hits them alike.

Run: python benchmarks/lambda_cold_start.py [--runs 11]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.lambda_package import (  # noqa: E402
    RUNTIME_PYTHON,
    UNZIPPED_LIMIT,
    build,
    local_runtime,
    runtime_python,
)
from tests.test_lambda import http_api_v2  # noqa: E402

BARE_APP = """from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


handler = Mangum(app, lifespan="off")
"""
# The same exchange with no app at all: what starting the interpreter costs.
INTERPRETER_ALONE = """import sys
sys.stdin.readline()
print('{"response": {"statusCode": 200}}', flush=True)
"""
EVENT = json.dumps({"event": http_api_v2("GET", "/health")}) + "\n"


def sample(command: list[str], data_dir: str) -> float:
    """Seconds from starting `command` to its answer to the first event."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=data_dir,
        env={"PATH": "/usr/bin:/bin", "DATA_DIR": data_dir, "LOG_LEVEL": "WARNING"},
    )
    assert proc.stdin and proc.stdout
    proc.stdin.write(EVENT)
    proc.stdin.flush()
    answer = proc.stdout.readline()
    elapsed = time.perf_counter() - started
    proc.stdin.close()
    proc.wait()
    status = json.loads(answer)["response"]["statusCode"]
    assert status == 200, answer
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    python = runtime_python(RUNTIME_PYTHON)
    if python is None:
        sys.exit(f"no python{RUNTIME_PYTHON} (the Lambda runtime's) here; set VAP_LAMBDA_PYTHON")
    with tempfile.TemporaryDirectory(prefix="vap-lambda-bench-") as tmp:
        built = build(Path(tmp) / "out")
        layer = Path(tmp) / "layer"  # the bare app's module, beside the package
        layer.mkdir()
        (layer / "bare_app.py").write_text(BARE_APP)
        # The same package without its bytecode (the interpreter's own stays, as the
        # runtime's does), hard-linked, run with -B so nothing is written back.
        no_bytecode = Path(tmp) / "no-bytecode"
        shutil.copytree(
            built.package,
            no_bytecode,
            ignore=shutil.ignore_patterns("__pycache__"),
            copy_function=os.link,
        )
        data_dir = str(Path(tmp) / "data")
        Path(data_dir).mkdir()
        variants = {
            "interpreter": [python, "-I", "-S", "-c", INTERPRETER_ALONE],
            "bare": local_runtime(built.package, python, "bare_app.handler", [layer]),
            "api": local_runtime(built.package, python),
            "api, no bytecode": local_runtime(no_bytecode, python, python_options=["-B"]),
        }
        for command in variants.values():  # page cache, and the SQLite schema, first
            sample(command, data_dir)
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.runs):
            for name, command in variants.items():
                times[name].append(sample(command, data_dir))
    med = {name: statistics.median(ts) for name, ts in times.items()}
    interp, bare, api = med["interpreter"], med["bare"], med["api"]
    rows = {
        "python:": python,
        "package:": f"{built.unzipped_bytes / 1e6:.1f} MB unzipped,"
        f" {built.zipped_bytes / 1e6:.1f} MB zipped (limit {UNZIPPED_LIMIT / 1e6:.1f} MB unzipped)",
        "runs per variant:": args.runs,
        "interpreter alone (median):": f"{interp * 1000:7.1f} ms",
        "bare FastAPI + Mangum (median):": f"{bare * 1000:7.1f} ms",
        "packaged API (median):": f"{api * 1000:7.1f} ms",
        "packaged API, no bytecode (median):": f"{med['api, no bytecode'] * 1000:7.1f} ms",
        "ratio API / bare:": f"{api / bare:.2f} (whole start),"
        f" {(api - interp) / (bare - interp):.2f} (beyond the interpreter)",
        "ratio no bytecode / bytecode:": f"{med['api, no bytecode'] / api:.2f}",
    }
    for label, value in rows.items():
        print(f"{label:37}{value}")


if __name__ == "__main__":
    main()
