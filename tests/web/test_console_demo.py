"""The README's first command, `./quickstart.sh`, run as a user runs it (with the smallest
settings) on a fresh data folder, twice: the whole chain must pass through the client,
and a second run on the same folder must work too, so the demo cannot rot. The second
run keeps its API up, as a user's does, and the demo's account is then walked through in
the web console the quickstart built and printed first: its dataset, training job,
export and deployment are all there."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.web.browser import WEB_TEST_MARKS, Console

pytestmark = WEB_TEST_MARKS

ROOT = Path(__file__).parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _quickstart_env(tmp_path: Path) -> dict[str, str]:
    return {
        # A user with no configuration: nothing of the test session's settings leaks in.
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        "DATA_DIR": str(tmp_path / "data"),
        "VAP_CACHE_DIR": str(tmp_path / "cache"),
        "VAP_VENV": sys.prefix,  # this virtualenv has the project: no second install
    }


def _quickstart(tmp_path: Path, port: int) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    run = subprocess.run(
        ["./quickstart.sh", "--smoke", "--exit", "--port", str(port)],
        cwd=ROOT,
        env=_quickstart_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=840,
    )
    return run, time.monotonic() - started


@pytest.mark.timeout(900)
def test_quickstart_runs_the_chain_then_again_and_the_console_shows_it(
    tmp_path: Path, console: Console
) -> None:
    port = _free_port()
    first, seconds = _quickstart(tmp_path, port)
    print(f"./quickstart.sh --smoke --exit, first run: {seconds:.0f} s")
    out = first.stdout
    assert first.returncode == 0, out[-4000:] + first.stderr[-4000:]
    assert f"Starting the API on http://127.0.0.1:{port}" in out
    assert "(admin, created)" in out and "200 images of 10 digits" in out
    assert "epoch 1: accuracy" in out and "training completed" in out
    assert "test run completed" in out and "export completed" in out
    assert "API key (shown once): " in out
    assert "truth: digit_7; the model says digit_" in out
    assert "requests this month: 1 " in out
    assert f"http://127.0.0.1:{port}/docs" in out and "/v1/infer/" in out
    assert (tmp_path / "data" / "vap.db").exists()
    with pytest.raises(httpx.TransportError):  # --exit stopped the server it started
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)

    # The second run on the same data keeps its API up, as a user's does: the console's
    # address is the first thing it prints, and signing in there as the demo user shows
    # everything the demo made.
    from vap_client.demo import DEMO_EMAIL, DEMO_PASSWORD

    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        ["./quickstart.sh", "--smoke", "--port", str(port)],
        cwd=ROOT,
        env=_quickstart_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "The API keeps running at" in line:
                break
        out = "".join(lines)
        assert "Ctrl-C stops it" in out, out[-4000:]
        assert "(admin, exists)" in out and "reusing dataset" in out
        assert "truth: digit_7" in out
        # The console's address comes before any of the demo's steps.
        console_line = f"Web console: {base}/ (sign in as {DEMO_EMAIL}"
        assert console_line in out, out[:2000]
        assert out.index(console_line) < out.index("reusing dataset")

        page = console.page
        page.goto(f"{base}/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
        page.get_by_label("Email").fill(DEMO_EMAIL)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Home")

        datasets = page.get_by_role("region", name="Recent datasets")
        expect(datasets.get_by_role("link", name="demo digits (smoke)")).to_have_count(1)
        # Two runs, so two of each job: the newest first.
        training = page.get_by_role("region", name="Training jobs")
        expect(training.get_by_role("listitem").filter(has_text="demo digits")).to_have_count(2)
        expect(training.get_by_role("listitem").first).to_contain_text("completed")
        models = page.get_by_role("region", name="Models")
        model = models.get_by_role("link", name=re.compile(r"timm · onnx v1")).first
        expect(model).to_be_visible()
        deployments = page.get_by_role("region", name="Deployments")
        endpoint = deployments.get_by_role("link", name="demo digits endpoint").first
        expect(endpoint).to_be_visible()
        console.screenshot("demo-home")

        endpoint.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("demo digits endpoint")
        console.screenshot("demo-deployment")
        page.go_back()
        model.click()
        expect(page).to_have_url(re.compile(r"/training/[0-9a-f-]{36}/exports$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Exports: demo digits")
        version = page.get_by_role("list", name="Exports").get_by_role("listitem").first
        expect(version.get_by_role("status", name="Version 1 status")).to_contain_text("completed")
        console.screenshot("demo-exports")
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C, as the quickstart says
        assert proc.wait(timeout=60) in (0, 130)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/health", timeout=2)
