"""Every benchmark in benchmarks/, each in its quick mode, and one table of their figures:
benchmark, figure, value, baseline, ratio.

    python benchmarks/run_all.py [--only dataset_ingest,dispatch] [--timeout 900]
                                 [--save-outputs DIR]

Each benchmark runs in its own process with the short settings listed in BENCHMARKS (its
own flags: every one has a size or rounds flag, so none needed a separate quick mode);
its printed report is read by a parser made for it. A benchmark that fails (exits
non-zero, times out, needs what this machine lacks, or prints no figure its parser
knows) shows as one `failed` row with the reason, and the table still prints. Quick
figures are noisier than the full runs: each benchmark's own defaults are for the
figures to report.

The ratio column is value / baseline throughout (a time over a time, a rate over a
rate), whichever way round a benchmark's own report puts it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Figure:
    figure: str
    value: str
    baseline: str = ""
    ratio: str = ""


@dataclass(frozen=True)
class Benchmark:
    name: str  # the script's name in benchmarks/, without .py
    quick: tuple[str, ...]  # its flags for a short run
    parse: Callable[[str], list[Figure]]


# --- parsers: one per benchmark, reading what its main() prints ------------------------


def _find(pattern: str, text: str) -> re.Match[str] | None:
    return re.search(pattern, text, re.MULTILINE)


def parse_dataset_ingest(out: str) -> list[Figure]:
    ingest = _find(r"^API ingest \(median\):\s+([\d.]+) s\s+(\d+) images/s", out)
    floor = _find(r"^floor, unzip \+ decode, (\d+) threads? \(median\):\s+([\d.]+) s\s+(\d+)", out)
    if not ingest:
        return []
    figures = [
        Figure(
            "ingest, images/s",
            ingest[2],
            f"floor, {floor[1]} threads {floor[3]}",
            _ratio(ingest[2], floor[3]),
        )
        if floor
        else Figure("ingest, images/s", ingest[2]),
        Figure("ingest, s", ingest[1], f"floor {floor[2]}", _ratio(ingest[1], floor[2]))
        if floor
        else Figure("ingest, s", ingest[1]),
    ]
    cpu = _find(r"^API CPU time of the ingest \(median\):\s+([\d.]+) s", out)
    if cpu:
        figures.append(Figure("ingest, API CPU s", cpu[1]))
    scans = _find(
        r"^image scan in process, no thumbnails:\s+([\d.]+) s\n"
        r"image scan in process, with thumbnails:\s+([\d.]+) s",
        out,
    )
    if scans:
        figures.append(
            Figure(
                "(image scan with thumbnails, s)",
                scans[2],
                f"without {scans[1]}",
                _ratio(scans[2], scans[1]),
            )
        )
    first = _find(r"^first datasets request, not timed above:\s+(\d+) ms", out)
    if first:
        figures.append(Figure("(first datasets request, ms)", first[1]))
    return figures


def parse_dispatch(out: str) -> list[Figure]:
    figures = []
    health = _find(r"baseline GET /health:\s+(\d+) req/s\s+p50\s+([\d.]+) ms", out)
    beats = _find(r"heartbeat callbacks:\s+(\d+) req/s\s+p50\s+([\d.]+) ms", out)
    ratio = _find(r"throughput ratio callbacks / health: ([\d.]+)", out)
    if beats:
        figures.append(
            Figure(
                "callbacks, req/s",
                beats[1],
                f"/health {health[1]}" if health else "",
                ratio[1] if ratio else "",
            )
        )
        figures.append(
            Figure(
                "callback p50, ms",
                beats[2],
                f"/health {health[2]}" if health else "",
                _ratio(beats[2], health[2]) if health else "",
            )
        )
    sse = _find(r"^SSE: (\d+) open streams.*p50 ([\d.]+) ms", out)
    if sse:
        figures.append(Figure(f"SSE send -> {sse[1]} streams p50, ms", sse[2]))
    dispatch = _find(r"^dispatch: POST -> worker's first callback.*: (\d+) ms", out)
    if dispatch:
        figures.append(Figure("dispatch to first callback, ms", dispatch[1]))
    return figures


def parse_endpoint_first_call(out: str) -> list[Figure]:
    figures = []
    row = r"^(created|activated|restarted|warm)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)"
    for m in re.finditer(row, out, re.MULTILINE):
        figures.append(Figure(f"first call after {m[1]}, ms", m[2], f"steady p50 {m[4]}", m[5]))
    idle = _find(r"^after (\d+) s idle: ([\d.]+) ms .*?([\d.]+)x the steady p50 ([\d.]+)", out)
    if idle:
        figures.append(
            Figure(f"a call after {idle[1]} s idle, ms", idle[2], f"steady p50 {idle[4]}", idle[3])
        )
    health = _find(
        r"^control, GET /v1/health .*?steady p50 ([\d.]+) ms, after (\d+) s idle ([\d.]+) ms", out
    )
    if health:
        figures.append(
            Figure(
                f"(GET /v1/health after {health[2]} s idle, ms)",
                health[3],
                f"steady p50 {health[1]}",
                _ratio(health[3], health[1]),
            )
        )
    return figures


def parse_endpoint_throughput(out: str) -> list[Figure]:
    rows: dict[tuple[str, str], tuple[str, str, str]] = {}
    row = r"^(\S+)\s+(raw|predict|endpoint|ultralytics)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$"
    for m in re.finditer(row, out, re.MULTILINE):
        rows[(m[1], m[2])] = (m[3], m[4], m[5])
    figures = []
    for model in dict.fromkeys(model for model, _ in rows):
        endpoint, raw = rows.get((model, "endpoint")), rows.get((model, "raw"))
        if endpoint is None:
            continue
        base = f"raw session.run {raw[0]}" if raw else ""
        figures.append(
            Figure(
                f"{model} endpoint p50, ms",
                endpoint[0],
                base,
                _ratio(endpoint[0], raw[0]) if raw else "",
            )
        )
        base = f"raw session.run {raw[2]}" if raw else ""
        figures.append(
            Figure(
                f"{model} endpoint, calls/s",
                endpoint[2],
                base,
                _ratio(endpoint[2], raw[2]) if raw else "",
            )
        )
    return figures


def parse_http_server_limits(out: str) -> list[Figure]:
    figures = []
    header = _find(r"^(\d+) MB header: (.+)$", out)
    if header:
        # The result is a dict's repr: its status line says it all, when there is one.
        status = re.search(r"'status_line': 'HTTP/[\d.]+ ([^']*)'", header[2])
        figures.append(Figure(f"{header[1]} MB header", status[1] if status else header[2].strip()))
    slow = _find(
        r"^(\d+) slow sockets: closed by the server after (\S+) s; (\d+) still open at ([\d.]+) s",
        out,
    )
    if slow:
        figures.append(Figure(f"{slow[1]} slow sockets, closed after s", slow[2]))
        figures.append(Figure(f"slow sockets still open at {slow[4]} s", slow[3], "0"))
    return figures


def parse_import_cost(out: str) -> list[Figure]:
    figures = []
    api = _find(r"^import api\.main:\s+([\d.]+) ms", out)
    bare = _find(r"^import fastapi \+ app:\s+([\d.]+) ms", out)
    ratio = _find(r"^ratio api\.main / fastapi:\s+([\d.]+)", out)
    if api:
        figures.append(
            Figure(
                "import api.main, ms",
                api[1],
                f"fastapi + app {bare[1]}" if bare else "",
                ratio[1] if ratio else "",
            )
        )
    first = _find(r"^  api\.main:\s+([\d.]+) ms", out)
    first_bare = _find(r"^  bare FastAPI \+ SQLAlchemy:\s+([\d.]+) ms", out)
    first_ratio = _find(r"^  ratio api\.main / bare:\s+([\d.]+)", out)
    if first:
        figures.append(
            Figure(
                "first request, ms",
                first[1],
                f"bare FastAPI {first_bare[1]}" if first_bare else "",
                first_ratio[1] if first_ratio else "",
            )
        )
    return figures


def parse_lambda_cold_start(out: str) -> list[Figure]:
    api = _find(r"^packaged API \(median\):\s+([\d.]+) ms", out)
    bare = _find(r"^bare FastAPI \+ Mangum \(median\):\s+([\d.]+) ms", out)
    ratio = _find(r"^ratio API / bare:\s+([\d.]+)", out)
    if not api:
        return []
    return [
        Figure(
            "Lambda cold start, ms",
            api[1],
            f"bare FastAPI + Mangum {bare[1]}" if bare else "",
            ratio[1] if ratio else "",
        )
    ]


def parse_training_throughput(out: str) -> list[Figure]:
    rates = {
        m[1]: (m[2], m[3])
        for m in re.finditer(
            r"^  (\S.*?)\s+([\d.]+) images/s\s+ratio to baseline ([\d.]+)", out, re.MULTILINE
        )
    }
    base = rates.get("baseline")
    figures = [
        Figure(f"training {name}, images/s", rate, f"plain loop {base[0]}" if base else "", ratio)
        for name, (rate, ratio) in rates.items()
        if name != "baseline"
    ]
    wait = _find(r"training loop waiting on callbacks, per epoch: median (\d+) ms", out)
    if wait:
        figures.append(Figure("waiting on callbacks per epoch, ms", wait[1]))
    start = _find(r"job created to its first epoch: median ([\d.]+) s; .* ([\d.]+) s$", out)
    if start:
        figures.append(
            Figure(
                "training job created to first epoch, s",
                start[1],
                f"plain loop's setup {start[2]}",
                _ratio(start[1], start[2]),
            )
        )
    return figures


def parse_web_console(out: str) -> list[Figure]:
    """Its own table: figure, measured, baseline, ratio, aim, meets (cells apart by 2+ spaces)."""
    lines = out.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("figure  ")), None)
    if start is None:
        return []
    figures = []
    for line in lines[start + 1 :]:
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) < 4:
            break
        name, measured, baseline, ratio = cells[:4]
        figures.append(Figure(name, measured, baseline, "" if ratio == "-" else ratio))
    return figures


def _ratio(value: str, baseline: str) -> str:
    try:
        return f"{float(value) / float(baseline):.2f}"
    except (ValueError, ZeroDivisionError):
        return ""


BENCHMARKS = [
    Benchmark("dataset_ingest", ("--images", "500", "--runs", "1"), parse_dataset_ingest),
    Benchmark(
        "dispatch",
        ("--callbacks", "400", "--streams", "10", "--dispatches", "3"),
        parse_dispatch,
    ),
    Benchmark("endpoint_first_call", ("--rounds", "1", "--calls", "20"), parse_endpoint_first_call),
    Benchmark(
        "endpoint_throughput",
        ("--requests", "30", "--models", "resnet18"),
        parse_endpoint_throughput,
    ),
    Benchmark(
        "http_server_limits",
        ("--header-mb", "8", "--sockets", "10", "--hold", "10"),
        parse_http_server_limits,
    ),
    Benchmark("import_cost", ("--runs", "3"), parse_import_cost),
    Benchmark("lambda_cold_start", ("--runs", "3"), parse_lambda_cold_start),
    Benchmark("training_throughput", ("--epochs", "2", "--runs", "1"), parse_training_throughput),
    Benchmark(
        "web_console",
        ("--runs", "1", "--epochs", "2", "--images", "300"),
        parse_web_console,
    ),
]

# Helpers the benchmarks import, not benchmarks: a new script in benchmarks/ that is in
# neither list shows as failed, so that it is not left out of the table unseen.
HELPERS = {"api_server", "http_load", "run_all"}


# --- running and the table ---------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one benchmark run gave: its exit status (None: timed out), output, seconds."""

    returncode: int | None
    stdout: str
    stderr: str
    seconds: float


def run(bench: Benchmark, timeout: float) -> Outcome:
    started = time.monotonic()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # Its own process group: a benchmark's API servers and workers are its children, and
    # on a timeout they go with it (killing the script alone left its uvicorn running).
    proc = subprocess.Popen(
        [sys.executable, str(HERE / f"{bench.name}.py"), *bench.quick],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        return Outcome(None, stdout, stderr, time.monotonic() - started)
    return Outcome(proc.returncode, stdout, stderr, time.monotonic() - started)


def rows_of(bench: Benchmark, outcome: Outcome, timeout: float) -> list[tuple[str, ...]]:
    """The table's rows for one benchmark: its figures, or one `failed` row saying why."""
    if outcome.returncode is None:
        # What it printed before it stopped still counts: the figures it did take.
        return [
            *_figures(bench, outcome.stdout),
            _failed(bench.name, f"timed out after {timeout:.0f} s"),
        ]
    if outcome.returncode != 0:
        return [_failed(bench.name, f"exit {outcome.returncode}: {_last_line(outcome)}")]
    try:
        figures = bench.parse(outcome.stdout)
    except Exception as exc:  # a parser's bug must not cost the rest of the table
        return [_failed(bench.name, f"its output could not be read: {type(exc).__name__}: {exc}")]
    if not figures:
        return [_failed(bench.name, "no figure found in its output (did its report change?)")]
    return [(bench.name, f.figure, f.value, f.baseline, f.ratio) for f in figures]


def _figures(bench: Benchmark, stdout: str) -> list[tuple[str, ...]]:
    """The rows of what a stopped benchmark printed, if its parser can read any."""
    try:
        figures = bench.parse(stdout)
    except Exception:
        return []
    return [(bench.name, f.figure, f.value, f.baseline, f.ratio) for f in figures]


def _failed(name: str, why: str) -> tuple[str, ...]:
    return (name, "failed", why, "", "")


def _last_line(outcome: Outcome) -> str:
    """The most telling line of a failure: the last of stderr (a traceback's exception,
    a SystemExit's message), else of stdout."""
    for text in (outcome.stderr, outcome.stdout):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if lines:
            return lines[-1][:200]
    return "no output"


def table(rows: list[tuple[str, ...]]) -> str:
    header = ("benchmark", "figure", "value", "baseline", "ratio")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def unlisted() -> list[str]:
    """Scripts in benchmarks/ that are neither a listed benchmark nor a helper."""
    listed = {b.name for b in BENCHMARKS} | HELPERS
    return sorted(p.stem for p in HERE.glob("*.py") if p.stem not in listed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated benchmark names (default: all)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per benchmark")
    parser.add_argument("--save-outputs", type=Path, help="write each benchmark's output here")
    args = parser.parse_args()
    chosen = BENCHMARKS
    if args.only:
        names = set(args.only.split(","))
        unknown = names - {b.name for b in BENCHMARKS}
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
        chosen = [b for b in BENCHMARKS if b.name in names]
    rows: list[tuple[str, ...]] = []
    started = time.monotonic()
    for bench in chosen:
        print(f"running {bench.name} {' '.join(bench.quick)} ...", file=sys.stderr, flush=True)
        outcome = run(bench, args.timeout)
        if args.save_outputs:
            args.save_outputs.mkdir(parents=True, exist_ok=True)
            (args.save_outputs / f"{bench.name}.out").write_text(outcome.stdout)
            (args.save_outputs / f"{bench.name}.err").write_text(outcome.stderr)
        print(f"  {outcome.seconds:.0f} s", file=sys.stderr, flush=True)
        rows += rows_of(bench, outcome, args.timeout)
    if not args.only:
        rows += [_failed(name, "not listed in run_all.BENCHMARKS") for name in unlisted()]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nall benchmarks, quick mode, {time.monotonic() - started:.0f} s; load average {load}")
    print(table(rows))


if __name__ == "__main__":
    main()
