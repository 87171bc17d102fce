"""The results and exports of a training job in the console, against the real API: the
numbers on screen are the API's own (best epoch's metrics, confusion matrix, PR curves,
checkpoints, an ONNX export's size and validation verdict)."""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import expect

from tests.web.browser import WEB_TEST_MARKS, Console
from tests.web.test_console import TRAINING, heading, new_account, sign_in, upload_digits

pytestmark = WEB_TEST_MARKS

LONG = 240_000  # ms: the most the tiny training run or its export may take
TINY = {**TRAINING, "config": {**TRAINING["config"], "epochs": 2}}


def _wait_until_ended(api: httpx.Client, path: str) -> dict:
    """The job at `path` once it has ended (the API is polled; the browser is not)."""
    deadline = time.monotonic() + LONG / 1000
    while time.monotonic() < deadline:
        job = api.get(path).json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job  # type: ignore[no-any-return]
        time.sleep(1)
    raise AssertionError(f"{path} did not end: {job}")


def test_results_and_exports_of_a_training_job(console: Console, console_server: str) -> None:
    page, base = console.page, console_server
    email, api = new_account(base)
    dataset = upload_digits(api, per_class=10)
    r = api.post("/api/v1/training/jobs", json={**TINY, "dataset_id": dataset["id"]})
    assert r.status_code == 201, r.text
    job = _wait_until_ended(api, f"/api/v1/training/jobs/{r.json()['id']}")
    assert job["status"] == "completed", job
    results = api.get(f"/api/v1/training/jobs/{job['id']}/validation-results").json()
    best = next(r for r in results if r["epoch"] == job["best_epoch"])

    page.goto(f"{base}/training/{job['id']}")
    sign_in(page, email)
    expect(heading(page)).to_have_text("digits resnet18")
    tabs = page.get_by_role("navigation", name="Training job")
    expect(tabs.get_by_role("link", name="Run")).to_have_attribute("aria-current", "page")
    tabs.get_by_role("link", name="Results").click()
    expect(page).to_have_url(f"{base}/training/{job['id']}/results")
    expect(heading(page)).to_have_text("Results: digits resnet18")
    expect(tabs.get_by_role("link", name="Results")).to_have_attribute("aria-current", "page")

    # Metric cards: the best epoch's, each the API's exact number.
    metrics = page.get_by_role("region", name=re.compile(r"^Epoch \d"))
    expect(metrics.get_by_role("heading", level=2)).to_have_text(f"Epoch {best['epoch']} (best)")
    primary = best["primary_metric_name"]
    shown = metrics.get_by_role("definition")
    card_values = {
        dt.inner_text().removesuffix(" (primary)"): float(dd.locator("data").get_attribute("value"))
        for dt, dd in zip(metrics.get_by_role("term").all(), shown.all(), strict=True)
    }
    expected = {
        k: v for k, v in best["metrics"].items() if not re.search(r"^train/|seconds|per_second", k)
    }
    assert card_values == {**expected, primary: best["primary_metric_value"]}
    assert metrics.get_by_role("term").first.inner_text() == f"{primary} (primary)"

    # Per class: one row per class, in the API's order.
    per_class = page.get_by_role("table", name="Per-class metrics")
    names = [c["class_name"] for c in best["per_class_metrics"]]
    expect(per_class.get_by_role("rowheader")).to_have_text(names)

    # The confusion matrix: truth by prediction, one row and column per class, its
    # cells the API's matrix (and so summing to the validation set's size).
    matrix = page.get_by_role("table", name=re.compile("^Confusion matrix of epoch"))
    expect(matrix.get_by_role("rowheader")).to_have_text(names)
    expect(matrix.get_by_role("columnheader")).to_have_text(["Truth \\ Predicted", *names])
    cells = [
        [int(c) for c in row.get_by_role("cell").all_inner_texts()]
        for row in matrix.get_by_role("row").all()[1:]
    ]
    assert cells == best["confusion_matrix"]
    images = sum(map(sum, best["confusion_matrix"]))
    assert images == sum(c["support"] for c in best["per_class_metrics"]) == 20
    expect(matrix).to_contain_text(f"({images} images)")

    # PR curves: one chart naming every class of the API's curves with its AP.
    curves = best["pr_curves"]["classes"]
    chart = page.get_by_role(
        "img",
        name=re.compile(
            rf"^Precision-recall curves of epoch {best['epoch']}: .* for {len(curves)} classes"
        ),
    )
    expect(chart).to_be_visible()
    expect(chart.locator("polyline")).to_have_count(len(curves))
    first = curves[0]
    console.screenshot("results")
    page.get_by_label("Class", exact=True).select_option(first["class_name"])
    expect(page).to_have_url(re.compile(rf"\?pr_class={first['class_name']}$"))
    one = page.get_by_role("img", name=re.compile(r"^Precision-recall curves .* for 1 class;"))
    expect(one).to_have_accessible_name(
        re.compile(rf"{first['class_name']} AP {first['average_precision']:.4f}$")
    )
    console.screenshot("results-one-pr-curve")

    # Checkpoints: download links that answer, with their epochs as the API says.
    links = api.get(f"/api/v1/training/jobs/{job['id']}/checkpoints").json()
    assert links["best_epoch"] == job["best_epoch"] and links["last_epoch"] == 2
    best_link = page.get_by_role(
        "link", name=f"Download the best checkpoint (epoch {job['best_epoch']})"
    )
    last_link = page.get_by_role("link", name="Download the last checkpoint (epoch 2)")
    for link in (best_link, last_link):
        assert httpx.get(link.get_attribute("href")).status_code == 200

    # Another epoch, chosen in the URL, survives a reload.
    other = next(r for r in results if r["epoch"] != best["epoch"])
    page.get_by_label("Epoch", exact=True).select_option(str(other["epoch"]))
    expect(metrics.get_by_role("heading", level=2)).to_have_text(f"Epoch {other['epoch']}")
    page.reload()
    expect(page.get_by_label("Epoch", exact=True)).to_have_value(str(other["epoch"]))
    expect(page.get_by_label("Class", exact=True)).to_have_value(first["class_name"])
    page.set_viewport_size({"width": 390, "height": 800})
    console.screenshot("results-390px")
    page.set_viewport_size({"width": 1280, "height": 800})

    # Exports: start an ONNX export through the form and watch it complete.
    tabs.get_by_role("link", name="Exports").click()
    expect(heading(page)).to_have_text("Exports: digits resnet18")
    expect(page.get_by_text("No exports yet.")).to_be_visible()
    caps = api.get("/api/v1/export/capabilities", params={"framework": "timm"}).json()
    supported = [f for f, c in caps["frameworks"]["timm"].items() if c["supported"]]
    form_formats = page.get_by_label("Format").locator("option").all_inner_texts()
    assert [f.split(" ")[0] for f in form_formats] == supported
    # A tag the API refuses: its message beside the field, and no export made.
    console.expect_error("status of 422")
    page.get_by_label("Version tag").fill("x" * 101)
    page.get_by_role("button", name="Start export").click()
    expect(page.get_by_label("Version tag")).to_have_accessible_description(
        re.compile("at most 100 characters")
    )
    assert api.get(f"/api/v1/training/jobs/{job['id']}/exports").json() == []
    page.get_by_label("Format").select_option("onnx")
    page.get_by_label("Version tag").fill("first")
    console.screenshot("exports-form")
    page.get_by_role("button", name="Start export").click()

    version = (
        page.get_by_role("list", name="Exports")
        .get_by_role("listitem")
        .filter(has=page.get_by_role("heading", name="Version 1 (first): onnx"))
    )
    expect(version).to_be_visible()
    status = version.get_by_role("status", name="Version 1 status")
    expect(status).to_contain_text(re.compile("pending|queued|running|completed"))
    expect(status).to_contain_text("completed", timeout=LONG)  # the page polls the API
    exported = api.get(f"/api/v1/training/jobs/{job['id']}/exports").json()
    assert len(exported) == 1
    e = exported[0]
    assert e["status"] == "completed" and e["validation_passed"] is True
    assert e["size_bytes"] == e["model_info"]["size_bytes"] > 0
    assert e["latency_median_ms"] == e["model_info"]["latency_ms"]["median_ms"]
    expect(version).to_contain_text(f"({e['size_bytes']:,} bytes)")
    expect(version).to_contain_text(f"{e['latency_median_ms']} ms")
    v = e["validation_metrics"]
    verdict = f"Passed: {v['metric']} {v['exported']:.4f} exported, {v['checkpoint']:.4f}"
    expect(version).to_contain_text(verdict + " on the checkpoint")
    # The first completed export is the default already (the API's rule).
    assert e["is_default"] is True
    expect(status).to_contain_text("default")
    expect(version.get_by_role("link", name="Deploy version 1")).to_have_attribute(
        "href", f"/deployments?export={e['id']}"
    )
    console.screenshot("export-completed")

    # A second export, made the default from the page.
    page.get_by_label("Version tag").fill("second")
    page.get_by_role("button", name="Start export").click()
    second = (
        page.get_by_role("list", name="Exports")
        .get_by_role("listitem")
        .filter(has=page.get_by_role("heading", name="Version 2 (second): onnx"))
    )
    expect(second.get_by_role("status", name="Version 2 status")).to_contain_text(
        "completed", timeout=LONG
    )
    second.get_by_role("button", name="Set version 2 as default").click()
    expect(second.get_by_role("status", name="Version 2 status")).to_contain_text("default")
    expect(status).not_to_contain_text("default")
    by_version = {
        x["version"]: x for x in api.get(f"/api/v1/training/jobs/{job['id']}/exports").json()
    }
    assert by_version[2]["is_default"] is True and by_version[1]["is_default"] is False

    second.get_by_role("button", name="Get a download link for version 2").click()
    download = second.get_by_role("link", name=re.compile(r"^Download timm-onnx-v2\.zip$"))
    answer = httpx.get(download.get_attribute("href"))
    assert answer.status_code == 200 and answer.content[:2] == b"PK"
    console.screenshot("exports-default-and-download")
    page.set_viewport_size({"width": 390, "height": 800})
    console.screenshot("exports-390px")


def test_results_and_exports_before_training_and_of_no_such_job(
    console: Console, console_server: str
) -> None:
    page, base = console.page, console_server
    email, api = new_account(base)
    dataset = upload_digits(api, per_class=10)
    r = api.post(
        "/api/v1/training/jobs", json={**TINY, "dataset_id": dataset["id"], "start": False}
    )
    assert r.status_code == 201, r.text
    job = r.json()

    page.goto(f"{base}/training/{job['id']}/results")
    sign_in(page, email)
    expect(heading(page)).to_have_text("Results: digits resnet18")
    expect(page.get_by_role("status").filter(has_text="Training is")).to_contain_text(
        f"results arrive as epochs are validated (epoch 0 of {job['total_epochs']})"
    )
    expect(page.get_by_text("No epoch has been validated yet.")).to_be_visible()
    expect(page.get_by_text("No checkpoint has been saved yet.")).to_be_visible()
    console.screenshot("results-pending")

    page.get_by_role("navigation", name="Training job").get_by_role("link", name="Exports").click()
    expect(heading(page)).to_have_text("Exports: digits resnet18")
    expect(page.get_by_text("this job has not saved one yet")).to_be_visible()
    expect(page.get_by_role("button", name="Start export")).to_have_count(0)
    console.screenshot("exports-pending")

    # Another user's job, or none: the API's own 404 message.
    console.expect_error("status of 404")
    missing = "00000000-0000-4000-8000-000000000000"
    page.goto(f"{base}/training/{missing}/results")
    answer = api.get(f"/api/v1/training/jobs/{missing}")
    assert answer.status_code == 404
    expect(page.get_by_role("alert")).to_have_text(answer.json()["error"]["message"])
    console.screenshot("results-not-found")
