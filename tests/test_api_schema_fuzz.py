"""schemathesis against the live API on PostgreSQL (the `live_server` process, on the
test database): every documented operation, with requests generated from the OpenAPI
document, logged in as a fresh user and anonymous. It must find no server error and no
answer that breaks the document's response schemas or that it does not declare.

For each of the two callers, two passes, each a fixed number of requests (the same
every run, so the time it takes is known: about a minute and a half in all on a quiet
2-core machine), and a timeout that ends a run that hangs:
- coverage: the cases schemathesis derives from each operation's schema (boundaries,
  NUL bytes, huge numbers, wrong types, missing fields), one pass; anonymous, only on
  the operations that need no credentials (the others answer 401 before reading any);
- fuzzing: `FUZZ_EXAMPLES` random requests per operation, from a fixed seed.
Left out: the webhook routes that write a URL (deliveries would reach the network) and
the one route that starts a job at once (diagnostics). Every other job-creating route
needs a ready dataset, a checkpoint or an export that generated data cannot make, so it
answers 4xx and dispatches nothing.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import logged_in

ROOT = Path(__file__).parents[1]
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# The last: every status answered is one the document declares for the operation (a
# generated client knows what it may get).
CHECKS = ("not_a_server_error", "response_schema_conformance", "status_code_conformance")
EXCLUDED = r"^(POST|PATCH) /api/v1/webhooks|^POST /api/v1/diagnostics/jobs$"
SEED = "20261206"
FUZZ_EXAMPLES = 3
RUN_TIMEOUT = 240  # seconds; a run that takes longer hangs (it fails the test)


def _failures(recorder: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for case_id, checks in recorder.get("checks", {}).items():
        exchange = recorder.get("interactions", {}).get(case_id, {})
        request, answer = exchange.get("request") or {}, exchange.get("response") or {}
        body = base64.b64decode((answer.get("content") or {}).get("$base64", ""))
        found += [
            {
                "check": check["name"],
                "request": f"{request.get('method')} {request.get('uri')}",
                "answer": f"{answer.get('status_code')} {body[:300]!r}",
                "why": ((check.get("failure_info") or {}).get("failure") or {}).get("message"),
            }
            for check in checks
            if check["status"] == "failure"
        ]
    return found


def _run(live_server: str, report: Path, headers: dict[str, str], *options: str):  # type: ignore[no-untyped-def]
    """One schemathesis run: its failures (check, request, answer), its answers' statuses
    by hundred (2, 4, 5), and its output."""
    command = [
        str(SCHEMATHESIS), "run", f"{live_server}/openapi.json", *options,
        "--checks", ",".join(CHECKS), "--exclude-name-regex", EXCLUDED,
        "--seed", SEED, "--workers", "2", "--no-shrink", "--generation-database", "none",
        "--request-timeout", "30", "--no-color",
        "--report", "ndjson", "--report-ndjson-path", str(report),
    ]  # fmt: skip
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        command, env=env, cwd=report.parent, capture_output=True, text=True, timeout=RUN_TIMEOUT
    )
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    failures: list[dict[str, Any]] = []
    statuses: Counter[int] = Counter()
    for line in report.read_text().splitlines():
        recorder = (json.loads(line).get("ScenarioFinished") or {}).get("recorder")
        if recorder:
            for exchange in recorder.get("interactions", {}).values():
                statuses[((exchange.get("response") or {}).get("status_code") or 0) // 100] += 1
            failures += _failures(recorder)
    return failures, statuses, done.stdout


def _public_operations(live_server: str) -> str:
    """A regular expression of the operations that need no credentials."""
    import httpx

    document = httpx.get(f"{live_server}/openapi.json").json()
    labels = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if not operation.get("security")
    ]
    return "^(" + "|".join(re.escape(label) for label in labels) + ")$"


@pytest.mark.timeout(4 * RUN_TIMEOUT)
def test_schemathesis_finds_no_server_error_and_no_answer_the_document_does_not_describe(
    live_server, tmp_path
):
    user = logged_in(live_server, "fuzz")
    fuzzing = ("--phases", "fuzzing", "--max-examples", str(FUZZ_EXAMPLES))
    runs = {
        ("logged in", "coverage"): ("--phases", "coverage"),
        ("logged in", "fuzzing"): fuzzing,
        ("anonymous", "coverage"): ("--phases", "coverage",
                                    "--include-name-regex", _public_operations(live_server)),
        ("anonymous", "fuzzing"): fuzzing,
    }  # fmt: skip
    seen: dict[str, Counter[int]] = {}
    for (who, name), options in runs.items():
        headers = {"Authorization": user.headers["Authorization"]} if who == "logged in" else {}
        report = tmp_path / f"{who.replace(' ', '-')}-{name}.ndjson"
        failures, statuses, output = _run(live_server, report, headers, *options)
        print(who, name, dict(statuses))
        found = "\n".join(f"{f['check']}: {f['request']} -> {f['answer']} {f['why'] or ''}"
                          for f in failures[:10])  # fmt: skip
        assert not failures, f"{who}, {name}: {len(failures)} failures\n{found}\n{output[-3000:]}"
        # It really ran: every pass sends a hundred requests at least.
        assert sum(statuses.values()) > 100, (who, name, statuses, output[-3000:])
        seen[f"{who} {name}"] = statuses
    # Logged in, many requests got past authentication to the routes themselves.
    assert seen["logged in coverage"][2] > 50, seen
