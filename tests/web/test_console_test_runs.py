"""The test run screens in a real browser against the real API: a tiny model trained
through the API, a test run started from the form with Grad-CAM, followed to its end,
its metrics and per-image results checked against what the API itself answers."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.live import wait_for
from tests.web.browser import WEB_TEST_MARKS, Console
from tests.web.test_console import LONG, TRAINING, heading, new_account, sign_in, upload_digits

pytestmark = WEB_TEST_MARKS

TINY = {**TRAINING, "name": "tiny digits", "config": {**TRAINING["config"], "epochs": 1}}
CARDS = 24  # results per page on the screen


def _format_metric(value: float) -> str:
    """As the console writes a metric (components/format.ts formatMetric)."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2e}" if abs(value) < 0.001 else f"{value:.4f}"


def test_start_a_test_run_and_read_its_results(console: Console, console_server: str) -> None:
    page, base = console.page, console_server
    email, api = new_account(base)
    dataset = upload_digits(api, per_class=10)
    r = api.post("/api/v1/training/jobs", json={**TINY, "dataset_id": dataset["id"]})
    assert r.status_code == 201, r.text
    job = r.json()
    wait_for(api, job["id"], lambda p: p["terminal"], timeout=LONG / 1000)
    assert api.get(f"/api/v1/training/jobs/{job['id']}").json()["status"] == "completed"

    # The results screen links here with its model chosen; the dataset follows it.
    page.goto(f"{base}/test-runs?training_job={job['id']}")
    sign_in(page, email)
    expect(heading(page)).to_have_text("Test runs")
    expect(page.get_by_label("Trained model")).to_have_value(job["id"])
    expect(page.get_by_label("Dataset")).to_have_value(dataset["id"])
    expect(page.get_by_text("No test run yet.")).to_be_visible()
    console.screenshot("test-runs-empty")

    # The API's own message beside the field it names.
    console.expect_error("status of 422")
    page.get_by_label("Images to visualize").fill("5000")
    page.get_by_role("button", name="Start test run").click()
    expect(page.get_by_label("Images to visualize")).to_have_accessible_description(
        re.compile("less than or equal to 1000")
    )
    console.screenshot("test-runs-field-error")

    page.get_by_label("Images to visualize").fill("20")
    page.get_by_label("Explain predictions (Grad-CAM)").check()
    page.get_by_role("button", name="Start test run").click()
    expect(page).to_have_url(re.compile(r"/test-runs/[0-9a-f-]{36}$"))
    run_id = page.url.rsplit("/", 1)[1]
    expect(heading(page)).to_have_text("Test run of resnet18")
    overview = page.get_by_role("status").filter(has_text="images measured")
    console.screenshot("test-run-started")
    expect(overview).to_contain_text("completed", timeout=LONG)
    run = api.get(f"/api/v1/test-runs/{run_id}").json()
    assert run["status"] == "completed" and run["enable_xai"] is True

    # The overall figures are the API's, to the digits the console writes.
    accuracy = run["overall_metrics"]["accuracy"]
    metrics = page.get_by_role("table", name="Overall metrics")
    expect(
        metrics.get_by_role("row", name=f"accuracy {_format_metric(accuracy)}", exact=True)
    ).to_be_visible()
    per_class = page.get_by_role("table", name="Per-class metrics")
    expect(per_class.get_by_role("row")).to_have_count(1 + len(run["per_class_metrics"]))
    # The confusion matrix is the API's, cell for cell (rows: truth, columns: predicted).
    matrix = page.get_by_role("table", name=re.compile("^Confusion matrix of the test run"))
    expect(matrix.get_by_role("row")).to_have_count(1 + len(run["confusion_matrix"]))
    shown = [
        [int(c) for c in row.get_by_role("cell").all_inner_texts()]
        for row in matrix.get_by_role("row").all()[1:]
    ]
    assert shown == run["confusion_matrix"]

    everything = api.get(f"/api/v1/test-runs/{run_id}/results?limit=1000").json()
    first_page = api.get(f"/api/v1/test-runs/{run_id}/results?limit={CARDS}").json()
    cards = page.get_by_role("list", name="Per-image results").get_by_role("listitem")
    expect(cards).to_have_count(len(first_page["images"]))
    wrong = [i for i in everything["images"] if i["metrics"]["correct"] == 0]
    assert everything["num_wrong"] == len(wrong)
    expect(page.get_by_role("status").filter(has_text="images,")).to_have_text(
        f"{everything['num_images']} images, {len(wrong)} wrong"
    )
    first = first_page["images"][0]
    truth = first["ground_truth"]["class_name"]
    expect(cards.first).to_contain_text(f"Truth: {truth}")
    expect(cards.first).to_contain_text("Right" if first["correct"] else "Wrong")
    console.screenshot("test-run-completed")

    # The first image was drawn: its Grad-CAM heatmap loads.
    name = first["image_id"].rsplit("/", 1)[1]
    cards.first.get_by_role("button", name=f"Show Grad-CAM of {name}").click()
    heatmap = cards.first.get_by_role("img", name=f"Grad-CAM of {name}")
    expect(heatmap).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=heatmap.element_handle()
    )
    assert heatmap.evaluate("img => img.naturalWidth") > 0
    console.screenshot("test-run-grad-cam")

    # Only the wrong ones: exactly the API's wrong images, filtered by the API.
    page.get_by_label("Only wrong predictions").click()  # a URL change, not an instant one
    expect(page.get_by_label("Only wrong predictions")).to_be_checked()
    expect(page).to_have_url(re.compile(r"[?&]wrong=1"))
    shown = wrong[:CARDS]
    expect(cards).to_have_count(len(shown))
    for card, image in zip(cards.all(), shown, strict=True):
        expect(card).to_contain_text(image["image_id"].rsplit("/", 1)[1])
        expect(card).to_contain_text("Wrong")
    console.screenshot("test-run-wrong-only")

    page.reload()  # the filter is in the URL
    expect(heading(page)).to_have_text("Test run of resnet18")
    expect(page.get_by_label("Only wrong predictions")).to_be_checked()
    expect(cards).to_have_count(len(shown))
    page.get_by_role("link", name="All test runs").first.click()
    expect(heading(page)).to_have_text("Test runs")
    listed = page.get_by_role("row").filter(has_text="resnet18")
    expect(listed).to_contain_text("completed")
    expect(listed.get_by_role("cell").nth(2)).to_have_text(str(run["processed_images"]))
    page.get_by_label("Status").select_option("failed")
    expect(page).to_have_url(re.compile(r"[?&]status=failed"))
    expect(page.get_by_text("No failed test run.")).to_be_visible()
    assert api.get("/api/v1/test-runs?status=failed").json()["total"] == 0
    assert api.get("/api/v1/test-runs?status=completed").json()["total"] == 1
    console.screenshot("test-runs-filtered")

    page.go_back()
    page.go_back()  # back on the run, the filter still on
    expect(heading(page)).to_have_text("Test run of resnet18")
    expect(page.get_by_label("Only wrong predictions")).to_be_checked()
    expect(cards).to_have_count(len(shown))
    page.set_viewport_size({"width": 390, "height": 844})
    console.screenshot("test-run-phone")
