"""functions/harness.py and functions/retries.py: what every job function gets, whichever
runner starts it. A stand-in API (httpx.MockTransport) records the callbacks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from contract.checksums import sha256_of
from contract.jobs import JobSpec
from functions import harness, inputs, retries, transfers
from functions.client import CallbackRejected, JobClient, Superseded
from functions.harness import Finished

ROOT = Path(__file__).parents[1]


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(retries, "DELAYS", (0, 0, 0))


class FakeApi:
    """Answers every callback; `answers` (status codes) are used up first."""

    def __init__(self, *answers: int, cancel: bool = False) -> None:
        self.answers = list(answers)
        self.cancel = cancel
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.rsplit("/", 1)[-1]
        self.calls.append((path, json.loads(request.content or b"{}")))
        status = self.answers.pop(0) if self.answers else 200
        return httpx.Response(status, json={"applied": True, "cancel": self.cancel})

    def sent(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.calls if p == path]


def _client(api: FakeApi) -> JobClient:
    spec = JobSpec(job_id="0" * 32, kind="diagnostic", attempt=1,
                   callback_url="http://api.test/api/v1/jobs/x", callback_token="t")  # fmt: skip
    http = httpx.Client(base_url=spec.callback_url + "/", transport=httpx.MockTransport(api))
    return JobClient(spec, http=http)


def test_a_function_that_finishes_reports_completed_with_its_metrics():
    api = FakeApi()
    assert harness.run(lambda client, work: Finished(metrics={"acc": 0.9}), _client(api)) == 0
    assert [(d["status"], d["metrics"]) for d in api.sent("done")] == [("completed", {"acc": 0.9})]


def test_a_function_that_raises_fails_with_the_message_the_api_shows_and_logs_the_traceback():
    api = FakeApi()

    def broken(client: JobClient, work: Path) -> Finished:
        raise ValueError("the job's config names no format")

    assert harness.run(broken, _client(api)) == 1
    [done] = api.sent("done")
    assert done["status"] == "failed"
    assert done["error"] == "ValueError: the job's config names no format"
    [log] = api.sent("event")
    assert log["data"]["level"] == "error" and "Traceback" in log["data"]["message"]


def test_a_function_may_end_failed_with_its_own_message_and_metrics():
    api = FakeApi()
    end = Finished(metrics={"drop": 0.3}, error="validation: accuracy dropped")
    assert harness.run(lambda client, work: end, _client(api)) == 1
    [done] = api.sent("done")
    assert (done["status"], done["error"], done["metrics"]) == (
        "failed", "validation: accuracy dropped", {"drop": 0.3}
    )  # fmt: skip


def test_a_cancelled_job_reports_nothing_more_even_when_it_then_fails():
    api = FakeApi(cancel=True)

    def cancelled_then_broken(client: JobClient, work: Path) -> Finished:
        client.heartbeat(progress=1)  # the ack says cancel
        raise RuntimeError("interrupted")

    assert harness.run(cancelled_then_broken, _client(api)) == 0
    assert [p for p, _ in api.calls] == ["heartbeat"]


def test_the_temporary_folder_is_removed_however_the_function_ends():
    seen: list[Path] = []

    def uses_folder(client: JobClient, work: Path) -> Finished:
        (work / "model.ckpt").write_bytes(b"x")
        seen.append(work)
        raise OSError("disk full")

    harness.run(uses_folder, _client(FakeApi()), prefix="vap-test-")
    assert seen[0].name.startswith("vap-test-") and not seen[0].exists()


def test_sigterm_cancels_the_function_and_the_previous_handler_comes_back():
    api = FakeApi()
    before = signal.getsignal(signal.SIGTERM)

    def terminated(client: JobClient, work: Path) -> Finished:
        os.kill(os.getpid(), signal.SIGTERM)
        assert client.cancelled
        return Finished()

    assert harness.run(terminated, _client(api)) == 0
    assert api.sent("done") == []  # the runner that sent SIGTERM knows
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_superseded_attempt_stops_without_reporting():
    api = FakeApi(409)

    def beats(client: JobClient, work: Path) -> Finished:
        client.heartbeat(progress=1)
        return Finished()

    with pytest.raises(Superseded):
        harness.run(beats, _client(api))
    assert [p for p, _ in api.calls] == ["heartbeat"]


def test_transient_answers_are_retried_under_the_same_sequence_number():
    api = FakeApi(503, 429)
    client = _client(api)
    assert client.heartbeat(progress=1).applied
    assert [body["seq"] for _, body in api.calls] == [1, 1, 1]


def test_a_refused_callback_is_not_retried():
    api = FakeApi(422)
    with pytest.raises(CallbackRejected, match="heartbeat: 422"):
        _client(api).heartbeat(progress=1)
    assert len(api.calls) == 1


def test_an_api_that_never_answers_well_gives_up_after_the_policys_retries():
    api = FakeApi(*[502] * 10)
    with pytest.raises(CallbackRejected, match=r"no answer after 3 retries \(HTTP 502\)"):
        _client(api).event("log", message="x")
    assert len(api.calls) == 4  # the first try and three retries


def test_downloads_follow_the_same_policy_and_check_the_sha256(tmp_path, monkeypatch):
    answers = [500, 200, 200]

    def storage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(answers.pop(0), content=b"bytes")

    storage_client = httpx.Client(transport=httpx.MockTransport(storage))
    monkeypatch.setattr(transfers, "http", lambda: storage_client)
    good = tmp_path / "good.bin"
    good.write_bytes(b"bytes")
    got = inputs.download("http://storage.test/f", tmp_path / "f", sha256_of(good))
    assert got.read_bytes() == b"bytes" and answers == [200]
    with pytest.raises(inputs.InputError, match="do not match"):
        inputs.download("http://storage.test/g", tmp_path / "g", "0" * 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f", "good.bin"]  # no partial files


def test_every_runner_starts_a_job_the_same_way_and_its_module_loads_once(tmp_path):
    """`python -m functions SPEC_FILE` (the local runner; the Docker image's entry point
    reads the same spec from VAP_JOB_SPEC): the diagnostic module's body runs once."""
    probe = (
        "import os, sys, runpy\n"
        "import functions.retries\n"
        "functions.retries.DELAYS = ()  # nothing listens: give up at once\n"
        "runs = []\n"
        "sys.addaudithook(lambda e, a: e == 'exec' and getattr(a[0], 'co_filename', '')"
        ".endswith(os.path.join('functions', 'diagnostic.py')) and runs.append(1))\n"
        "sys.argv = ['functions', sys.argv[1]]\n"
        "try:\n    runpy.run_module('functions', run_name='__main__', alter_sys=True)\n"
        "except BaseException as e:\n    print(type(e).__name__, e)\n"
        "print('runs', len(runs))\n"
    )
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"job_id": "0" * 32, "kind": "diagnostic", "attempt": 1,
                                "version": 0, "callback_url": "http://127.0.0.1:9/x",
                                "callback_token": "t"}))  # fmt: skip
    out = subprocess.run([sys.executable, "-c", probe, str(spec)], capture_output=True,
                         text=True, cwd=ROOT, timeout=60, check=True)  # fmt: skip
    # An old contract version stops before the module is loaded; a current one loads it once.
    assert "this worker speaks" in out.stdout and out.stdout.strip().endswith("runs 0")
    current = json.loads(spec.read_text()) | {"version": JobSpec.model_fields["version"].default,
                                              "config": {"heartbeats": 1}}  # fmt: skip
    spec.write_text(json.dumps(current))
    out = subprocess.run([sys.executable, "-c", probe, str(spec)], capture_output=True,
                         text=True, cwd=ROOT, timeout=60, check=False)  # fmt: skip
    assert out.stdout.strip().endswith("runs 1"), out.stdout + out.stderr
