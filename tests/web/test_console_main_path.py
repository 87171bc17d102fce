"""The whole main path in a browser, on the embedded defaults, with nothing done through
the API behind the page's back: register, upload the digits through the file input, see
them in the gallery, create a training job from the form with a preset, watch the live
chart reach the last epoch, open the results (confusion matrix), run a test run, export
to ONNX, deploy, call try-it, and see the call in usage. The API is read only to check
that what the page shows is what it holds."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import httpx
from playwright.sync_api import expect

from tests.digits import digits_imagefolder_zip
from tests.web.browser import WEB_TEST_MARKS, Console
from tests.web.test_console import LONG, PASSWORD, heading
from tests.web.test_console_deployments import digit_png

pytestmark = WEB_TEST_MARKS


def test_register_upload_train_test_export_deploy_and_call(
    console: Console, console_server: str
) -> None:
    page, base = console.page, console_server
    page.goto(f"{base}/")
    expect(heading(page)).to_have_text("Sign in")
    page.get_by_role("link", name="Create an account").click()
    # The register screen's code loads on the way: until its heading shows, the sign-in
    # form (its own Email and Password) is still the page, and a fill would land there.
    expect(heading(page)).to_have_text("Create an account")
    email = f"main-path-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(heading(page)).to_have_text("Home")
    console.screenshot("home-empty")
    # What the page shows is checked against what the API holds, as this user.
    api = httpx.Client(base_url=base, timeout=60)
    token = page.evaluate("() => localStorage.getItem('vap.accessToken')")
    api.headers["Authorization"] = f"Bearer {token}"

    # Upload through the file input; see the images in the gallery.
    page.get_by_role("link", name="Datasets", exact=True).click()
    page.get_by_label("Name", exact=True).fill("digits")
    page.get_by_label("Files").set_input_files(
        files=[
            {
                "name": "digits.zip",
                "mimeType": "application/zip",
                "buffer": digits_imagefolder_zip(per_class=10, size=32),
            }
        ]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status").filter(has_text="uploaded")).to_contain_text("ready")
    page.get_by_role("table").get_by_role("link", name="digits").click()
    expect(heading(page)).to_have_text("digits")
    gallery = page.get_by_role("list", name="Images")
    expect(gallery.get_by_role("img").first).to_have_accessible_name(re.compile(r": digit_\d$"))
    console.screenshot("dataset")

    # A training job from the form: a model card, a preset, then a few settings changed.
    page.get_by_role("link", name="Train a model").click()
    expect(heading(page)).to_have_text("New training")
    page.get_by_role("radio", name="resnet18 (timm)").check()
    page.get_by_role("button", name="Apply the basic preset").click()
    basic = api.get(
        "/api/v1/training/config-schema",
        params={"framework": "timm", "task_type": "image_classification"},
    ).json()["presets"]["basic"]
    expect(page.get_by_label("Optimizer", exact=True)).to_have_value(basic["optimizer"])
    page.get_by_label("Epochs", exact=True).fill("2")
    page.get_by_label("Image size", exact=True).fill("32")
    page.get_by_label("Pretrained weights", exact=True).uncheck()  # no model hub here
    page.get_by_label("Augmentation", exact=True).select_option("none")
    page.get_by_label("Job name").fill("digits main path")
    console.screenshot("new-training")
    page.get_by_role("button", name="Start training").click()

    # The run, live: the chart reaches the last epoch without a reload.
    expect(heading(page)).to_have_text("digits main path")
    job_id = page.url.rsplit("/", 1)[1]
    overview = page.get_by_role("status").filter(has_text="Attempt")
    expect(overview).to_contain_text("completed", timeout=LONG)
    expect(overview).to_contain_text("Epoch 2 of 2")
    expect(page.get_by_role("img", name=re.compile(r"^Loss: 2 epochs"))).to_be_visible()
    job = api.get(f"/api/v1/training/jobs/{job_id}").json()
    assert job["status"] == "completed" and job["config"]["optimizer"] == basic["optimizer"]
    console.screenshot("training-run")

    # Results: the confusion matrix of the best epoch, as the API holds it.
    tabs = page.get_by_role("navigation", name="Training job")
    tabs.get_by_role("link", name="Results").click()
    expect(heading(page)).to_have_text("Results: digits main path")
    best = next(
        r
        for r in api.get(f"/api/v1/training/jobs/{job_id}/validation-results").json()
        if r["is_best"]
    )
    matrix = page.get_by_role("table", name=re.compile("^Confusion matrix of epoch"))
    # A header row and one per class; all() below reads what is there now, without waiting.
    expect(matrix.get_by_role("row")).to_have_count(len(best["confusion_matrix"]) + 1)
    shown = [
        [int(c) for c in row.get_by_role("cell").all_inner_texts()]
        for row in matrix.get_by_role("row").all()[1:]
    ]
    assert shown == best["confusion_matrix"]
    console.screenshot("results")

    # A test run of this model, from the results screen's link.
    page.get_by_role("link", name="Test this model").first.click()
    expect(heading(page)).to_have_text("Test runs")
    expect(page.get_by_label("Trained model")).to_have_value(job_id)
    page.get_by_role("button", name="Start test run").click()
    expect(page).to_have_url(re.compile(r"/test-runs/[0-9a-f-]{36}$"))
    run_status = page.get_by_role("status").filter(has_text="images measured")
    expect(run_status).to_contain_text("completed", timeout=LONG)
    run = api.get(f"/api/v1/test-runs/{page.url.rsplit('/', 1)[1]}").json()
    assert run["status"] == "completed" and run["training_job_id"] == job_id
    expect(
        page.get_by_role("list", name="Per-image results").get_by_role("listitem")
    ).not_to_have_count(0)
    console.screenshot("test-run")

    # Export to ONNX from the job's Exports tab.
    page.goto(f"{base}/training/{job_id}")
    tabs.get_by_role("link", name="Exports").click()
    expect(heading(page)).to_have_text("Exports: digits main path")
    page.get_by_label("Format").select_option("onnx")
    page.get_by_role("button", name="Start export").click()
    version = page.get_by_role("list", name="Exports").get_by_role("listitem").first
    expect(version.get_by_role("status", name="Version 1 status")).to_contain_text(
        "completed", timeout=LONG
    )
    (export,) = api.get(f"/api/v1/training/jobs/{job_id}/exports").json()
    assert export["format"] == "onnx" and export["status"] == "completed"
    console.screenshot("export")

    # Deploy it; the key is shown once; try-it draws the API's answer.
    version.get_by_role("link", name="Deploy version 1").click()
    expect(heading(page)).to_have_text("Deployments")
    expect(page.get_by_label("Export", exact=True)).to_have_value(export["id"])
    page.get_by_label("Name", exact=True).fill("digits endpoint")
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_role("region", name="API key of digits endpoint")).to_contain_text(
        "it will not be shown again"
    )
    console.screenshot("deployed")
    page.get_by_role("table").get_by_role("link", name="digits endpoint").click()
    expect(heading(page)).to_have_text("digits endpoint")
    page.get_by_label("Image", exact=True).set_input_files(
        files=[{"name": "digit.png", "mimeType": "image/png", "buffer": digit_png()}]
    )
    page.get_by_role("button", name="Predict").click()
    drawn = page.get_by_role("img", name=re.compile(r"^digit\.png: digit_\d [\d.]+%$"))
    expect(drawn).to_be_visible()
    predictions = page.get_by_role("table", name="Predictions")
    top = predictions.get_by_role("row").nth(1)
    expect(top).to_have_accessible_name(re.compile(r"^digit_\d [\d.]+%$"))
    console.screenshot("try-it")

    # The call, counted: on this page without a reload, then across deployments.
    today = datetime.now(UTC).date().isoformat()
    row = page.get_by_role("table", name="Days with calls, this deployment").get_by_role(
        "row", name=re.compile(f"^{today}")
    )
    expect(row.get_by_role("cell").first).to_have_text("1")
    (deployment,) = api.get("/api/v1/deployments").json()["items"]
    usage = api.get(f"/v1/deployments/{deployment['id']}/usage/daily").json()
    assert [d["calls"] for d in usage["days"] if d["day"] == today] == [1]
    console.screenshot("usage-of-the-deployment")
    page.get_by_role("link", name="Keys and usage", exact=True).click()
    expect(heading(page)).to_have_text("API keys and usage")
    row = page.get_by_role("table", name="Days with calls, all deployments").get_by_role(
        "row", name=re.compile(f"^{today}")
    )
    expect(row.get_by_role("cell").first).to_have_text("1")
    console.screenshot("usage")
