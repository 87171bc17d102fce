"""The console's deployments, try-it, API keys and usage screens in a real browser against
the real API: a tiny model trained and exported to ONNX through the API, deployed from the
browser, its key shown once, called from the try-it box, and the calls counted on the
usage screens exactly as the API counts them.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.digits import digits_imagefolder_zip
from tests.web.browser import WEB_TEST_MARKS, Console
from tests.web.test_console import heading, new_account, sign_in, upload_digits

pytestmark = WEB_TEST_MARKS

TRAINING = {
    "framework": "timm",
    "model_name": "resnet18",
    "name": "digits for deploying",
    "config": {
        "epochs": 1,
        "batch_size": 32,
        "image_size": 32,
        "augmentation": "none",
        "pretrained": False,
    },
}
LONG = 240.0  # s: the most the tiny training or its export may take


def wait_for(what: str, read: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    """`read()` until `done` says its answer is final (or LONG passes); the answer."""
    deadline = time.monotonic() + LONG
    while True:
        answer = read()
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


def finished(api: httpx.Client, path: str) -> dict[str, Any]:
    job: dict[str, Any] = wait_for(
        path,
        lambda: api.get(path).json(),
        lambda j: j["status"] in ("completed", "failed", "cancelled"),
    )
    assert job["status"] == "completed", job
    return job


def trained_onnx_export(api: httpx.Client) -> str:
    """A completed ONNX export of a one-epoch resnet18 on 100 digits; its id."""
    dataset = upload_digits(api, per_class=10)
    r = api.post("/api/v1/training/jobs", json={**TRAINING, "dataset_id": dataset["id"]})
    assert r.status_code == 201, r.text
    job = finished(api, f"/api/v1/training/jobs/{r.json()['id']}")
    r = api.post(
        "/api/v1/export/jobs",
        json={"training_job_id": job["id"], "format": "onnx", "validate": False},
    )
    assert r.status_code == 201, r.text
    return str(finished(api, f"/api/v1/export/jobs/{r.json()['id']}")["id"])


def digit_png(name: str = "digit_7") -> bytes:
    """A val image of the digits the model was trained on, as PNG bytes."""
    with zipfile.ZipFile(io.BytesIO(digits_imagefolder_zip(per_class=10, size=32))) as z:
        path = next(n for n in z.namelist() if n.startswith(f"val/{name}/"))
        return z.read(path)


def today_calls(usage: dict[str, Any]) -> int:
    today = datetime.now(UTC).date().isoformat()
    return int(next(d["calls"] for d in usage["days"] if d["day"] == today))


def calls_today_on_screen(page: Page, table: str):  # type: ignore[no-untyped-def]
    """The calls cell of today's row in the table named `table`."""
    today = datetime.now(UTC).date().isoformat()
    row = page.get_by_role("table", name=table).get_by_role("row", name=re.compile(f"^{today}"))
    return row.get_by_role("cell").first


def infer(base: str, deployment_id: str, key: str, image: bytes) -> httpx.Response:
    return httpx.post(
        f"{base}/v1/infer/{deployment_id}",
        headers={"Authorization": f"Bearer {key}"},
        files={"file": ("digit.png", image, "image/png")},
    )


def test_deploy_an_export_try_it_and_see_the_calls_counted(
    console: Console, console_server: str
) -> None:
    page, base = console.page, console_server
    email, api = new_account(base)
    export_id = trained_onnx_export(api)

    # The exports screen links here with the export chosen.
    page.goto(f"{base}/deployments?export={export_id}")
    sign_in(page, email)
    expect(heading(page)).to_have_text("Deployments")
    expect(page).to_have_url(f"{base}/deployments?export={export_id}")
    expect(page.get_by_label("Export", exact=True)).to_have_value(export_id)
    expect(page.get_by_text("No deployment yet.")).to_be_visible()
    console.screenshot("deployments-empty")

    # The API's own message beside the field it names.
    console.expect_error("status of 422")
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_label("Name", exact=True)).to_have_accessible_description(
        re.compile("at least 1 character")
    )
    console.screenshot("deployments-field-error")

    page.get_by_label("Name", exact=True).fill("digits endpoint")
    page.get_by_role("button", name="Deploy").click()
    panel = page.get_by_role("region", name="API key of digits endpoint")
    expect(panel).to_contain_text("it will not be shown again")
    key = page.get_by_label("The new API key").input_value()
    (deployment,) = api.get("/api/v1/deployments").json()["items"]
    assert key.startswith(deployment["api_key_prefix"])
    image = digit_png()
    r = infer(base, deployment["id"], key, image)
    assert r.status_code == 200, r.text  # the key shown is the deployment's working key
    expected = r.json()["classes"][0]
    listed = page.get_by_role("table").get_by_role("link", name="digits endpoint")
    expect(listed).to_be_visible()
    console.screenshot("deployments-key-shown-once")

    # The deployment's page: its snippets and try-it box know the key of this visit.
    listed.click()
    expect(heading(page)).to_have_text("digits endpoint")
    expect(page).to_have_url(f"{base}/deployments/{deployment['id']}")
    expect(page.get_by_role("figure", name="curl example")).to_contain_text(
        f"/v1/infer/{deployment['id']}"
    )
    expect(page.get_by_role("figure", name="curl example")).to_contain_text(f"Bearer {key}")
    page.get_by_label("Python", exact=True).check()
    expect(page).to_have_url(re.compile(r"\?snippet=python$"))
    expect(page.get_by_role("figure", name="Python example")).to_contain_text(
        'files={"file": image}'
    )
    expect(page.get_by_label("API key", exact=True)).to_have_value(key)
    page.get_by_label("Image", exact=True).set_input_files(
        files=[{"name": "digit.png", "mimeType": "image/png", "buffer": image}]
    )
    page.get_by_role("button", name="Predict").click()
    confidence = f"{expected['confidence'] * 100:.1f}%"
    drawn = page.get_by_role("img", name=f"digit.png: {expected['class_name']} {confidence}")
    expect(drawn).to_be_visible()
    predictions = page.get_by_role("table", name="Predictions")
    expect(predictions.get_by_role("row").nth(1)).to_have_accessible_name(
        f"{expected['class_name']} {confidence}"
    )
    expect(page.get_by_text(re.compile(r"Latency: [\d.]+ ms in the API"))).to_be_visible()
    raw = page.get_by_role("figure", name="Raw answer")
    expect(raw).to_contain_text(f'"class_name": "{expected["class_name"]}"')
    console.screenshot("deployment-try-it")

    # Two calls now (httpx's and the browser's), as the API counts them.
    path = f"/v1/deployments/{deployment['id']}/usage/daily"
    usage = wait_for(path, lambda: api.get(path).json(), lambda u: today_calls(u) >= 2)
    assert today_calls(usage) == 2
    page.get_by_role("button", name="Refresh usage").click()
    expect(calls_today_on_screen(page, "Days with calls, this deployment")).to_have_text(
        str(today_calls(usage))
    )
    calls_chart = re.compile(r"^Calls per day, this deployment: 30 days; latest Calls 2")
    expect(page.get_by_role("img", name=calls_chart)).to_be_visible()
    latency_chart = re.compile(r"^Latency per day, this deployment: 30 days; latest p50 ms \d")
    expect(page.get_by_role("img", name=latency_chart)).to_be_visible()
    console.screenshot("deployment-usage")
    page.set_viewport_size({"width": 390, "height": 800})
    console.screenshot("deployment-390px")
    page.set_viewport_size({"width": 1280, "height": 800})

    # A new key revokes the old one at once; the try-it box takes the new one.
    page.get_by_role("button", name="New API key").click()
    page.get_by_role("group", name="Confirm a new API key").get_by_role(
        "button", name="Make a new key"
    ).click()
    expect(page.get_by_role("region", name="New API key")).to_contain_text("not be shown again")
    new_key = page.get_by_label("The new API key").input_value()
    prefix = api.get(f"/api/v1/deployments/{deployment['id']}").json()["api_key_prefix"]
    assert new_key != key and new_key.startswith(prefix)
    expect(page.get_by_label("API key", exact=True)).to_have_value(new_key)
    assert infer(base, deployment["id"], key, image).status_code == 401
    expect(page.get_by_role("row", name=re.compile("api key rotated"))).to_be_visible()
    console.screenshot("deployment-new-key")

    # Deactivated, the endpoint refuses calls, and the try-it box says why in the API's words.
    page.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_role("button", name="Activate")).to_be_visible()
    expect(
        page.get_by_role("row", name=re.compile("^.* deactivated active → inactive"))
    ).to_be_visible()
    refused = infer(base, deployment["id"], new_key, image)
    assert refused.status_code == 409, refused.text
    console.expect_error("status of 409")
    page.get_by_role("button", name="Predict").click()
    expect(page.get_by_role("alert")).to_have_text(refused.json()["error"]["message"])
    console.screenshot("deployment-inactive")
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("button", name="Deactivate")).to_be_visible()
    key, old_prefix = new_key, deployment["api_key_prefix"]

    # A reload forgets the key: the API never shows it again.
    page.reload()
    expect(heading(page)).to_have_text("digits endpoint")
    expect(page.get_by_role("figure", name="Python example")).to_contain_text("Bearer YOUR_API_KEY")
    expect(page.get_by_label("API key", exact=True)).to_have_value("")
    expect(page.get_by_text(key)).to_have_count(0)
    console.screenshot("deployment-after-reload")
    page.go_back()
    expect(heading(page)).to_have_text("Deployments")
    expect(page.get_by_label("The new API key")).to_have_count(0)
    expect(page.get_by_text(key)).to_have_count(0)

    # Keys and usage across deployments.
    page.get_by_role("link", name="API keys and usage", exact=True).click()
    expect(heading(page)).to_have_text("API keys and usage")
    keys = page.get_by_role("region", name="API keys").get_by_role("table")
    current = keys.get_by_role("row").filter(has_text=prefix)
    expect(current.get_by_role("link", name="digits endpoint")).to_be_visible()
    expect(current.get_by_role("cell").nth(2)).to_have_text("active")
    old = keys.get_by_role("row").filter(has_text=old_prefix)
    expect(old.get_by_role("cell").nth(2)).to_contain_text("revoked")
    expect(old.get_by_role("cell").nth(4)).not_to_have_text("never")  # it was used
    account = api.get("/api/v1/deployments/usage/daily").json()
    expect(calls_today_on_screen(page, "Days with calls, all deployments")).to_have_text(
        str(today_calls(account))
    )
    by_deployment = page.get_by_role("table", name="Calls by deployment, last 30 days")
    expect(by_deployment.get_by_role("row", name=re.compile("^digits endpoint"))).to_contain_text(
        str(account["deployments"][0]["calls"])
    )
    console.screenshot("usage")
    page.set_viewport_size({"width": 390, "height": 800})
    console.screenshot("usage-390px")
    page.set_viewport_size({"width": 1280, "height": 800})

    # Deleting takes the deployment, its keys and usage; the list says so.
    current.get_by_role("link", name="digits endpoint").click()
    expect(heading(page)).to_have_text("digits endpoint")
    page.get_by_role("button", name="Delete deployment").click()
    page.get_by_role("group", name="Confirm deleting the deployment").get_by_role(
        "button", name="Delete", exact=True
    ).click()
    expect(heading(page)).to_have_text("Deployments")
    expect(page.get_by_text("No deployment yet.")).to_be_visible()
    assert api.get(f"/api/v1/deployments/{deployment['id']}").status_code == 404
    assert infer(base, deployment["id"], key, image).status_code in (401, 404)
    console.screenshot("deployments-after-delete")
