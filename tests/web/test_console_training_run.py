"""The live training run page in a real browser, kept open and never reloaded while the
job changes under it: a worker lost and the job resumed by the reconciler, a cancel and
a resume asked from the page, and the curves downloaded as CSV and PNG, each checked
against what the API itself says."""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.live import reconcile, wait_for
from tests.web.browser import WEB_TEST_MARKS, Console
from tests.web.test_console import LONG, TRAINING, heading, new_account, sign_in, upload_digits

pytestmark = WEB_TEST_MARKS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def open_run(page: Page, base: str, email: str, job: dict) -> None:
    page.goto(f"{base}/training/{job['id']}")
    sign_in(page, email)
    expect(heading(page)).to_have_text(job["name"])


def wait_for_job(api: httpx.Client, job_id: str, predicate, timeout: float = 180) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.get(f"/api/v1/training/jobs/{job_id}").json()
        if predicate(job):
            return job  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting on the job: {job}")


def overview_of(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("status").filter(has_text="Attempt")


def test_a_lost_worker_and_its_resumed_attempt_show_live_on_the_open_page(
    console: Console, console_server: str
) -> None:
    from api.db.models import TrainingJob
    from api.db.session import new_session

    page, base = console.page, console_server
    email, api = new_account(base)
    dataset = upload_digits(api, per_class=20)
    body = {**TRAINING, "dataset_id": dataset["id"], "max_attempts": 2}
    r = api.post("/api/v1/training/jobs", json=body)
    assert r.status_code == 201, r.text
    job = r.json()
    open_run(page, base, email, job)
    overview = overview_of(page)
    expect(overview).to_contain_text("Attempt 1 of 2", timeout=LONG)

    wait_for(api, job["id"], lambda p: any(e["type"] == "checkpoint" for e in p["events"]), 180)
    with new_session() as db:
        ref = db.get(TrainingJob, job["id"]).runner_ref
    pid = int(ref.rsplit(":", 1)[1])
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.05)
    expect(page.get_by_role("list", name="Events")).to_contain_text("checkpoint of epoch 1 saved")
    console.screenshot("attempt-1-worker-killed")
    assert "retried" in reconcile(base)

    events = api.get(f"/api/v1/jobs/{job['id']}/events?after=0").json()["events"]
    queued = [
        e["data"] for e in events if e["type"] == "status" and e["data"]["status"] == "queued"
    ]
    assert queued[-1]["attempt"] == 2
    resumed_from = queued[-1]["resumed_from_epoch"]
    assert resumed_from >= 1
    attempts = page.get_by_role("list", name="Attempts")
    expect(attempts).to_contain_text(re.compile(r"attempt 1 lost: the worker was lost \(.+\)"))
    expect(attempts).to_contain_text(
        f"Attempt 2 resumed from the checkpoint of epoch {resumed_from} after the worker was lost"
    )
    expect(overview).to_contain_text("Attempt 2 of 2")
    log = page.get_by_role("list", name="Events")
    expect(log).to_contain_text(
        f"queued (attempt 2), resuming from the checkpoint of epoch {resumed_from}"
    )
    console.screenshot("attempt-2-resumed")

    expect(overview).to_contain_text("completed", timeout=LONG)
    expect(overview).to_contain_text("Event stream: Ended")
    got = api.get(f"/api/v1/training/jobs/{job['id']}").json()
    assert got["status"] == "completed" and got["attempt"] == 2
    epochs = [
        e["epoch"] for e in api.get(f"/api/v1/training/jobs/{job['id']}/metrics").json()["epochs"]
    ]
    assert epochs == [1, 2, 3]
    # Every epoch once, though epochs up to the checkpoint ran in attempt 1 and the
    # rest in attempt 2.
    expect(page.get_by_role("img", name=re.compile(r"^Loss: 3 epochs"))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^Metrics: 3 epochs"))).to_be_visible()
    expect(overview).to_contain_text("Epoch 3 of 3")
    expect(attempts).to_contain_text(
        f"Attempt 2 resumed from the checkpoint of epoch {resumed_from}"
    )
    console.screenshot("completed-after-a-lost-worker")
    page.set_viewport_size({"width": 390, "height": 844})
    console.screenshot("completed-after-a-lost-worker-phone")


def test_cancel_and_resume_from_the_page_then_download_the_curves(
    console: Console, console_server: str, tmp_path: Path
) -> None:
    page, base = console.page, console_server
    email, api = new_account(base)
    dataset = upload_digits(api, per_class=20)
    config = {**TRAINING["config"], "epochs": 30}  # far more than it runs before the cancel
    r = api.post(
        "/api/v1/training/jobs",
        json={**TRAINING, "config": config, "dataset_id": dataset["id"], "max_attempts": 1},
    )
    assert r.status_code == 201, r.text
    job = r.json()
    open_run(page, base, email, job)
    overview = overview_of(page)
    wait_for_job(api, job["id"], lambda j: (j["last_checkpoint_epoch"] or 0) >= 1)
    expect(overview).to_contain_text("running")
    console.screenshot("running")

    page.get_by_role("button", name="Cancel training").click()
    expect(overview).to_contain_text("cancelled")
    expect(overview).to_contain_text("Event stream: Ended")
    expect(page.get_by_role("button", name="Cancel training")).to_have_count(0)
    cancelled = api.get(f"/api/v1/training/jobs/{job['id']}").json()
    assert cancelled["status"] == "cancelled"
    done = cancelled["last_checkpoint_epoch"]
    resume = page.get_by_role("button", name=f"Resume from epoch {done}")
    expect(resume).to_be_visible()
    target = page.get_by_label("Train to epoch")
    expect(target).to_have_value("30")  # a cancelled job resumes to its own epochs
    console.screenshot("cancelled")

    # A target the checkpoint already holds: the API's own answer, on the page.
    console.expect_error("status of 409")
    target.fill(str(done))
    resume.click()
    expect(page.get_by_role("alert")).to_contain_text(f"The checkpoint already holds epoch {done}")
    console.screenshot("resume-refused")

    target.fill(str(done + 1))
    target.press("Enter")
    attempts = page.get_by_role("list", name="Attempts")
    expect(attempts).to_contain_text(
        f"Attempt 2 resumed from the checkpoint of epoch {done} after a resume was asked for",
        timeout=LONG,
    )
    log = page.get_by_role("list", name="Events")
    expect(log).to_contain_text(
        f"resume asked: from the checkpoint of epoch {done}, training to epoch {done + 1}"
    )
    expect(overview).to_contain_text("completed", timeout=LONG)
    expect(overview).to_contain_text(f"Epoch {done + 1} of {done + 1}")
    got = api.get(f"/api/v1/training/jobs/{job['id']}").json()
    assert got["status"] == "completed" and got["last_checkpoint_epoch"] == done + 1
    history = api.get(f"/api/v1/training/jobs/{job['id']}/metrics").json()
    assert [e["epoch"] for e in history["epochs"]][-1] == done + 1
    n = len(history["epochs"])
    expect(page.get_by_role("img", name=re.compile(rf"^Loss: {n} epochs?"))).to_be_visible()
    console.screenshot("resumed-and-completed")

    # The curves as CSV: one row per epoch the API has, each value the API's own.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download curves (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [int(row["epoch"]) for row in rows] == [e["epoch"] for e in history["epochs"]]
    primary = history["primary_metric_name"]
    for row, epoch in zip(rows, history["epochs"], strict=True):
        expected = {k: v for k, v in epoch["metrics"].items() if isinstance(v, int | float)}
        expected[primary] = epoch["primary"]
        assert set(row) - {"epoch"} >= set(expected)
        for name, value in expected.items():
            assert abs(float(row[name]) - value) <= 1e-9 * max(1.0, abs(value)), (name, row)
    assert any("loss" in name for name in rows[0])

    with page.expect_download() as download:
        page.get_by_role("button", name="Download loss chart (PNG)").click()
    png = Path(download.value.path()).read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 2000
    assert download.value.suggested_filename.endswith(".png")

    page.set_viewport_size({"width": 390, "height": 844})
    console.screenshot("resumed-and-completed-phone")
