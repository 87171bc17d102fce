# ruff: noqa: E501  (captured report lines are kept whole)
"""benchmarks/run_all.py builds one table from what each benchmark prints: read here from
outputs as the benchmarks print them (never by running them: they take minutes)."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
_spec = importlib.util.spec_from_file_location("run_all", BENCHMARKS / "run_all.py")
assert _spec is not None and _spec.loader is not None
run_all = importlib.util.module_from_spec(_spec)
sys.modules["run_all"] = run_all  # benchmarks/ is no package; dataclasses look it up here
_spec.loader.exec_module(run_all)

# What each benchmark's main() prints: captured from quick runs on this 2-core machine
# (endpoint_first_call, http_server_limits, import_cost, lambda_cold_start), the others
# written line for line from their print calls, abridged to the lines with figures.
OUTPUTS = {
    "dataset_ingest": """\
archive: 500 JPEGs, 5.3 MiB; runs: 1; load 3.10 2.50 2.00
floor, unzip + decode, 2 threads (median):       0.40 s     1250 images/s
floor, unzip + decode, 1 thread (median):        0.50 s     1000 images/s
API ingest (median):                             0.80 s      625 images/s
ratio ingest / floor (2 threads):                2.00
ratio ingest / floor (1 thread):                 1.60
API CPU time of the ingest (median):    1.10 s
API peak RSS (median, whole process): 170 MiB
""",
    "dispatch": """\
callbacks: 392 heartbeats from 8 concurrent workers, 1 API process(es)
  baseline GET /health:    2000 req/s  p50    3.0 ms  p99   10.0 ms
  heartbeat callbacks:     1000 req/s  p50    6.0 ms  p99   20.0 ms
  throughput ratio callbacks / health: 0.50
SSE: 10 open streams, 50 events: send -> received p50 4.5 ms, p99 9.0 ms
dispatch: POST -> worker's first callback, median of 3: 850 ms (min 800 ms)
""",
    "endpoint_first_call": """\
2 CPUs, load average 3.3; ResNet-18 at 32 px, a 32x32 PNG; 1 rounds, 20 steady calls each

after       first ms  (server)  steady p50  first/p50  startup ms   (medians of 1 rounds)
created         42.7      14.7        2.85       15.0        1505
activated       34.5       6.5        3.79        9.1        1446
restarted      542.3     450.0        7.30       74.3        1737
warm            10.7       5.3        2.92        3.7        2289
first call ms of each round: created: 43; activated: 35; restarted: 542; warm: 11
""",
    "endpoint_throughput": """\
onnxruntime 1.20.0, providers ['CPUExecutionProvider'], 2 CPUs; 30 calls per figure

model      figure         p50 ms   p99 ms  calls/s
resnet18   raw             10.00    12.00    100.0
resnet18   predict         12.00    14.00     80.0
resnet18   endpoint        15.00    20.00     50.0
resnet18   endpoint p50 overhead: 5.00 ms over raw session.run
""",
    "http_server_limits": """\
8 MB header: {'status_line': 'HTTP/1.1 431 Request Header Fields Too Large', 'header_mb_sent': 8.0, 'seconds': 0.01}
  server memory before: {'VmHWM': 110.04296875, 'VmRSS': 110.04296875}  after: {'VmHWM': 110.5234375, 'VmRSS': 110.5234375}
  /health afterwards: 200
10 slow sockets: closed by the server after 5.0..5.0 s; 10 still open at 5.0 s
""",
    "import_cost": """\
runs per variant:           3
bare interpreter (median):     47.4 ms
import fastapi + app:         428.5 ms  (imports only: 381.2 ms)
import api.main:              816.9 ms  (imports only: 769.5 ms)
ratio api.main / fastapi:   1.91 (whole process), 2.02 (imports only)
process start to first answered GET /api/v1/auth/me (PostgreSQL, median):
  bare FastAPI + SQLAlchemy:    826.2 ms
  api.main:                    1072.9 ms
  ratio api.main / bare:      1.30
""",
    "lambda_cold_start": """\
python:                              /root/.pyenv/versions/3.12.1/bin/python3.12
package:                             245.3 MB unzipped, 80.3 MB zipped (limit 262.1 MB unzipped)
runs per variant:                    3
interpreter alone (median):             11.3 ms
bare FastAPI + Mangum (median):        586.7 ms
packaged API (median):                1421.8 ms
packaged API, no bytecode (median):   4059.4 ms
ratio API / bare:                    2.42 (whole start), 2.45 (beyond the interpreter)
ratio no bytecode / bytecode:        2.86
""",
    "training_throughput": """\
run 1 baseline: 2.00s, 1.00s

resnet18, digits at 32 px, 1437 train images, batch 64, 2 epochs, 1 runs
(images/s over the median epoch of epochs 2..n, median of the runs)
  baseline           1000.0 images/s   ratio to baseline 1.000
  adapter             950.0 images/s   ratio to baseline 0.950
  platform            900.0 images/s   ratio to baseline 0.900
  platform, all in    800.0 images/s   ratio to baseline 0.800
  training loop waiting on callbacks, per epoch: median 12 ms
""",
    "web_console": """\

web console, chromium /usr/bin/chromium, 1 runs (medians)
figure                                measured   baseline                ratio   aim       meets
initial JS, KB gzipped                120.0      budget 200              0.60    <= 200    yes
  (sign-in page interactive, ms)      300        bare page 100           3.00
long tasks > 50 ms while scrolling    0          40 frames               -       0         yes
""",
}


def _rows(name: str, stdout: str, returncode: int | None = 0, stderr: str = "") -> list[tuple]:
    bench = next(b for b in run_all.BENCHMARKS if b.name == name)
    return run_all.rows_of(bench, run_all.Outcome(returncode, stdout, stderr, 1.0), 900)


def test_every_listed_benchmark_has_a_sample_here_and_every_script_is_listed():
    assert {b.name for b in run_all.BENCHMARKS} == set(OUTPUTS)
    assert run_all.unlisted() == []


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_each_quick_flag_is_one_the_benchmark_declares(name):
    source = (BENCHMARKS / f"{name}.py").read_text()
    bench = next(b for b in run_all.BENCHMARKS if b.name == name)
    for flag in (a for a in bench.quick if a.startswith("--")):
        assert f'"{flag}"' in source, f"{name} has no {flag}"


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_each_benchmark_output_gives_figures(name):
    rows = _rows(name, OUTPUTS[name])
    assert rows and all(r[0] == name and r[1] != "failed" for r in rows)


def test_figures_read_with_baseline_and_a_ratio_of_value_over_baseline():
    rows = {r[1]: r[2:] for r in _rows("dataset_ingest", OUTPUTS["dataset_ingest"])}
    assert rows["ingest, images/s"] == ("625", "floor, 2 threads 1250", "0.50")
    assert rows["ingest, s"] == ("0.80", "floor 0.40", "2.00")
    assert rows["ingest, API CPU s"] == ("1.10", "", "")
    rows = {r[1]: r[2:] for r in _rows("dispatch", OUTPUTS["dispatch"])}
    assert rows["callbacks, req/s"] == ("1000", "/health 2000", "0.50")
    assert rows["callback p50, ms"] == ("6.0", "/health 3.0", "2.00")
    assert rows["dispatch to first callback, ms"] == ("850", "", "")
    rows = {r[1]: r[2:] for r in _rows("endpoint_throughput", OUTPUTS["endpoint_throughput"])}
    assert rows["resnet18 endpoint p50, ms"] == ("15.00", "raw session.run 10.00", "1.50")
    assert rows["resnet18 endpoint, calls/s"] == ("50.0", "raw session.run 100.0", "0.50")
    rows = {r[1]: r[2:] for r in _rows("training_throughput", OUTPUTS["training_throughput"])}
    assert "training baseline, images/s" not in rows
    assert rows["training platform, all in, images/s"] == ("800.0", "plain loop 1000.0", "0.800")
    rows = {r[1]: r[2:] for r in _rows("web_console", OUTPUTS["web_console"])}
    assert rows["(sign-in page interactive, ms)"] == ("300", "bare page 100", "3.00")
    assert rows["long tasks > 50 ms while scrolling"] == ("0", "40 frames", "")
    rows = {r[1]: r[2:] for r in _rows("endpoint_first_call", OUTPUTS["endpoint_first_call"])}
    assert rows["first call after created, ms"] == ("42.7", "steady p50 2.85", "15.0")
    assert rows["first call after warm, ms"] == ("10.7", "steady p50 2.92", "3.7")
    rows = {r[1]: r[2:] for r in _rows("http_server_limits", OUTPUTS["http_server_limits"])}
    assert rows["8 MB header"] == ("431 Request Header Fields Too Large", "", "")
    rows = {r[1]: r[2:] for r in _rows("lambda_cold_start", OUTPUTS["lambda_cold_start"])}
    assert rows["Lambda cold start, ms"] == ("1421.8", "bare FastAPI + Mangum 586.7", "2.42")


def test_a_failed_benchmark_is_one_row_with_why_and_the_table_still_prints():
    crashed = _rows(
        "dispatch",
        "callbacks: 392 heartbeats\n",
        returncode=1,
        stderr="Traceback (most recent call last):\n  ...\npsycopg.OperationalError: no server\n",
    )
    assert crashed == [
        ("dispatch", "failed", "exit 1: psycopg.OperationalError: no server", "", "")
    ]
    timed_out = _rows("web_console", "", returncode=None)
    assert timed_out == [("web_console", "failed", "timed out after 900 s", "", "")]
    # As dispatch stopped here once: its first figures printed, then no dispatch figure.
    partial = _rows("dispatch", OUTPUTS["dispatch"].split("dispatch: POST")[0], returncode=None)
    assert [r[1] for r in partial] == [
        "callbacks, req/s",
        "callback p50, ms",
        "SSE send -> 10 streams p50, ms",
        "failed",
    ]
    changed = _rows("import_cost", "a report in a new shape\n")
    assert changed[0][:2] == ("import_cost", "failed") and "no figure" in changed[0][2]

    text = run_all.table(_rows("dataset_ingest", OUTPUTS["dataset_ingest"]) + crashed + timed_out)
    lines = text.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["benchmark", "figure", "value", "baseline", "ratio"]
    assert set(lines[1]) == {"-", " "}
    assert len(lines) == 2 + 3 + 2
    assert any(line.startswith("dataset_ingest") and "625" in line for line in lines)
    assert any(line.startswith("web_console") and "timed out" in line for line in lines)


def test_a_parser_that_breaks_fails_its_benchmark_only():
    def broken(out: str) -> list:
        raise KeyError("figure")

    bench = run_all.Benchmark("dispatch", (), broken)
    rows = run_all.rows_of(bench, run_all.Outcome(0, OUTPUTS["dispatch"], "", 1.0), 900)
    assert rows[0][:2] == ("dispatch", "failed") and "KeyError" in rows[0][2]


def test_a_benchmark_past_its_timeout_is_stopped_with_the_processes_it_started(
    tmp_path, monkeypatch
):
    # A stand-in benchmark: it prints a figure, starts a server-like child, and hangs.
    (tmp_path / "dispatch.py").write_text(
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'],\n"
        "                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print('  heartbeat callbacks:  1000 req/s  p50 6.0 ms', flush=True)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    monkeypatch.setattr(run_all, "HERE", tmp_path)
    bench = next(b for b in run_all.BENCHMARKS if b.name == "dispatch")
    outcome = run_all.run(bench, timeout=3)
    assert outcome.returncode is None
    rows = run_all.rows_of(bench, outcome, 3)
    assert rows[0][1:3] == ("callbacks, req/s", "1000")
    assert rows[-1] == ("dispatch", "failed", "timed out after 3 s", "", "")
    child = int(outcome.stdout.split()[-1])
    try:
        for _ in range(50):  # killed; gone once init has reaped it
            if _state(child) == "Z":
                break
            time.sleep(0.1)
        assert _state(child) == "Z"
    finally:
        if _state(child) != "Z":  # the test failed: leave nothing running
            os.kill(child, signal.SIGKILL)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "Z"
