"""The console's account screens in a real browser against the real API: the account
page and a password change, webhooks with a real receiver on loopback, pretrained
weights, and projects. What the screens show is checked against what the API answers.

The API under test runs as plain uvicorn, which has no background sender: the webhook
test sends due deliveries itself, as `vap serve`'s loop would (tests/webhook_sender.py).
Loopback receivers are allowed by WEBHOOK_ALLOW_PRIVATE_URLS, which tests/conftest.py sets
for every API the tests start.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.digits import digits_imagefolder_zip
from tests.web.browser import WEB_TEST_MARKS, Console
from tests.web.test_console import PASSWORD, new_account, sign_in
from tests.webhook_sender import deliver_due, drain

pytestmark = WEB_TEST_MARKS

NEW_PASSWORD = "a brand new console password"
PHONE = {"width": 390, "height": 844}


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def fact(region: Locator, term: str) -> Locator:
    """The value a <dl className="facts"> gives for `term`."""
    return (
        region.get_by_role("term")
        .filter(has_text=re.compile(f"^{term}$"))
        .locator("xpath=following-sibling::dd")
    )


def test_account_shows_the_user_and_changes_the_password(
    console: Console, console_server: str
) -> None:
    page, base = console.page, console_server
    email, api = new_account(base)
    me = api.get("/api/v1/auth/me").json()

    page.goto(f"{base}/account")
    sign_in(page, email)
    expect(heading(page)).to_have_text("Account")
    you = page.get_by_role("region", name="You")
    expect(fact(you, "Email")).to_have_text(me["email"])
    expect(fact(you, "Role")).to_have_text(me["role"])
    links = [
        ("Webhooks", "/webhooks"),
        ("Pretrained weights", "/weights"),
        ("Projects", "/projects"),
    ]
    for name, path in links:
        expect(page.get_by_role("link", name=name, exact=True)).to_have_attribute("href", path)
    console.screenshot("account")

    # The profile: what PATCH /auth/me keeps is what the page shows after a reload.
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status").filter(has_text="Profile saved")).to_be_visible()
    assert api.get("/api/v1/auth/me").json()["full_name"] == "Ada Lovelace"
    page.reload()
    expect(fact(page.get_by_role("region", name="You"), "Name")).to_have_text("Ada Lovelace")

    # A wrong current password: the API's own message, beside that field.
    refused = api.patch(
        "/api/v1/auth/me",
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
    )
    assert refused.status_code == 400
    console.expect_error("status of 400")
    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_label("Current password")).to_have_accessible_description(
        refused.json()["error"]["message"]
    )
    expect(page.get_by_label("Current password")).to_have_attribute("aria-invalid", "true")
    page.set_viewport_size(PHONE)
    console.screenshot("account-wrong-password-390")
    page.set_viewport_size({"width": 1280, "height": 800})

    # The right one: the change ends this login too, so the user signs in again with it.
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(heading(page)).to_have_text("Sign in")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=%2Faccount&expired=1$"))
    old = httpx.post(f"{base}/api/v1/auth/login", data={"username": email, "password": PASSWORD})
    assert old.status_code == 401
    console.screenshot("signed-out-after-password-change")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(heading(page)).to_have_text("Account")
    expect(fact(page.get_by_role("region", name="You"), "Email")).to_have_text(email)


class Receiver:
    """An HTTP server on loopback that records every POST and answers `status`."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/vision"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver(status=200)
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_a_webhook_is_created_pinged_and_its_delivery_logged(
    console: Console, console_server: str, receiver: Receiver
) -> None:
    page, base = console.page, console_server
    email, api = new_account(base)
    page.goto(f"{base}/account")
    sign_in(page, email)
    page.get_by_role("link", name="Webhooks", exact=True).click()
    expect(heading(page)).to_have_text("Webhooks")
    expect(page.get_by_text("No webhook yet.")).to_be_visible()

    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Every event").uncheck()
    page.get_by_label("A job completed").check()
    page.get_by_label("A job failed").check()
    page.get_by_label("Description").fill("CI notifier")
    page.get_by_role("button", name="Add webhook").click()
    created = page.get_by_role("status").filter(has_text="shown this once only")
    expect(created).to_be_visible()
    secret = created.locator("code").inner_text()
    assert secret.startswith("whsec_")
    hooks = api.get("/api/v1/webhooks").json()
    assert hooks["total"] == 1
    hook = hooks["items"][0]
    assert hook["url"] == receiver.url
    assert sorted(hook["event_types"]) == ["job.completed", "job.failed"]
    console.screenshot("webhooks-created")

    page.get_by_role("table").get_by_role("link", name=receiver.url).click()
    expect(heading(page)).to_have_text(f"Webhook to {receiver.url}")
    expect(page).to_have_url(f"{base}/webhooks/{hook['id']}")
    expect(page.get_by_text("Nothing sent yet.")).to_be_visible()

    drain()  # what other tests left due, so the count below is this ping's
    page.get_by_role("button", name="Send a test ping").click()
    log = page.get_by_role("table", name="Delivery log")
    row = log.get_by_role("row").filter(has_text="ping")
    expect(row).to_contain_text("pending")  # queued; the sender has not run yet
    assert deliver_due() == 1
    expect(row).to_contain_text("succeeded")  # the page re-reads a pending log
    [delivery] = api.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json()["items"]
    assert delivery["status"] == "succeeded" and delivery["last_status_code"] == 200
    expect(row.get_by_role("cell").nth(3)).to_have_text(str(delivery["last_status_code"]))
    expect(row.get_by_role("cell").nth(4)).to_have_text(str(delivery["attempts"]))

    # The receiver got the ping, signed with the secret the page showed once.
    [(headers, body)] = receiver.requests
    assert headers["x-vap-event"] == "ping"
    assert headers["x-vap-delivery"] == delivery["event_id"]
    signed = hmac.new(
        secret.encode(), headers["x-vap-timestamp"].encode() + b"." + body, hashlib.sha256
    )
    assert headers["x-vap-signature"] == "sha256=" + signed.hexdigest()
    console.screenshot("webhook-pinged")

    # Edit, then disable: the API keeps both, and a reload shows them.
    edit = page.get_by_role("region", name="Edit")
    edit.get_by_label("Description").fill("Release notifier")
    edit.get_by_label("A job was cancelled").check()
    edit.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").filter(has_text="Changes saved")).to_be_visible()
    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("button", name="Enable")).to_be_visible()
    stored = api.get(f"/api/v1/webhooks/{hook['id']}").json()
    assert stored["description"] == "Release notifier" and stored["is_active"] is False
    assert sorted(stored["event_types"]) == ["job.cancelled", "job.completed", "job.failed"]
    page.reload()
    summary = page.get_by_role("region", name="Summary")
    expect(fact(summary, "State")).to_have_text("disabled")
    expect(fact(summary, "Events")).to_have_text(", ".join(stored["event_types"]))
    expect(row).to_contain_text("succeeded")
    page.set_viewport_size(PHONE)
    console.screenshot("webhook-disabled-390")
    page.set_viewport_size({"width": 1280, "height": 800})

    # A receiver that cannot be reached: the log says why, and that it will try again.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/gone"
    edit.get_by_label("URL").fill(closed)
    edit.get_by_role("button", name="Save changes").click()
    expect(heading(page)).to_have_text(f"Webhook to {closed}")
    page.get_by_role("button", name="Send a test ping").click()
    expect(log.get_by_role("row")).to_have_count(3)  # a header and two pings
    assert deliver_due() == 1
    newest = api.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json()["items"][0]
    assert newest["status"] == "pending" and newest["last_error"]
    failed = log.get_by_role("row").nth(1)
    expect(failed.get_by_role("cell").nth(6)).to_contain_text(newest["last_error"])
    expect(failed).to_contain_text("Next try")
    console.screenshot("webhook-unreachable")

    page.get_by_role("button", name="Delete webhook").click()
    page.get_by_role("button", name="Yes, delete it").click()
    expect(heading(page)).to_have_text("Webhooks")
    expect(page.get_by_text("No webhook yet.")).to_be_visible()
    assert api.get("/api/v1/webhooks").json()["total"] == 0


@pytest.fixture(scope="module")
def safetensors_file(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from safetensors.numpy import save_file

    path = tmp_path_factory.mktemp("weights") / "head.safetensors"
    save_file({"fc.weight": np.ones((10, 8), dtype=np.float32)}, str(path))
    return path.read_bytes()


def test_weights_are_uploaded_renamed_downloaded_and_deleted(
    console: Console, console_server: str, safetensors_file: bytes, tmp_path: Path
) -> None:
    page, base = console.page, console_server
    email, api = new_account(base)
    # Other tests' public weights are listed to every user too: this test reads only its
    # own (private) ones, in the page and through the API.
    page.goto(f"{base}/weights?visibility=private")
    sign_in(page, email)
    expect(heading(page)).to_have_text("Pretrained weights")
    expect(page.get_by_label("Show visibility")).to_have_value("private")

    # Nothing chosen: the API names the missing file beside its input.
    console.expect_error("status of 422")
    page.get_by_role("button", name="Upload weights").click()
    expect(page.get_by_label("Weights file")).to_have_accessible_description(
        re.compile("Field required")
    )

    page.get_by_label("Weights file").set_input_files(
        files=[
            {
                "name": "head.safetensors",
                "mimeType": "application/octet-stream",
                "buffer": safetensors_file,
            }
        ]
    )
    page.get_by_label("Name", exact=True).fill("digits head")
    page.get_by_label("Framework", exact=True).select_option("timm")
    page.get_by_label("Model", exact=True).select_option("resnet18")
    page.get_by_label("Number of classes").fill("10")
    page.get_by_role("button", name="Upload weights").click()
    expect(page.get_by_role("status").filter(has_text="digits head uploaded.")).to_be_visible()
    own = {"visibility": "private"}
    [stored] = api.get("/api/v1/pretrained-weights", params=own).json()["items"]
    assert stored["name"] == "digits head" and stored["size_bytes"] == len(safetensors_file)
    assert stored["num_classes"] == 10
    row = page.get_by_role("row").filter(has_text="digits head")
    expect(row).to_contain_text("timm / resnet18")
    expect(row).to_contain_text(", ".join(stored["task_types"]))
    console.screenshot("weights-uploaded")

    # Filters live in the URL: back undoes one.
    page.get_by_label("Show framework").select_option("ultralytics")
    expect(page).to_have_url(f"{base}/weights?visibility=private&framework=ultralytics")
    expect(page.get_by_text("No weights match these filters.")).to_be_visible()
    page.go_back()
    expect(page.get_by_label("Show framework")).to_have_value("")
    expect(page.get_by_label("Show visibility")).to_have_value("private")
    expect(row).to_be_visible()

    row.get_by_role("button", name="Rename digits head").click()
    page.get_by_label("New name for digits head").fill("digits head v2")
    page.get_by_role("button", name="Save name").click()
    renamed = page.get_by_role("row").filter(has_text="digits head v2")
    expect(renamed).to_be_visible()
    assert api.get(f"/api/v1/pretrained-weights/{stored['id']}").json()["name"] == "digits head v2"

    with page.expect_download() as info:
        renamed.get_by_role("button", name="Download digits head v2").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.read_bytes() == safetensors_file  # the file the form uploaded
    link = api.get(f"/api/v1/pretrained-weights/{stored['id']}/download").json()
    assert httpx.get(link["url"]).status_code == 200
    assert api.get(f"/api/v1/pretrained-weights/{stored['id']}").json()["download_count"] == 2
    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.get_by_role("row").filter(has_text="digits head v2")).to_be_visible()
    console.screenshot("weights-renamed-390")
    page.set_viewport_size({"width": 1280, "height": 800})

    renamed = page.get_by_role("row").filter(has_text="digits head v2")
    renamed.get_by_role("button", name="Delete digits head v2").click()
    renamed.get_by_role("button", name="Yes, delete").click()
    expect(page.get_by_text("No weights match these filters.")).to_be_visible()
    assert api.get("/api/v1/pretrained-weights", params=own).json()["total"] == 0


def test_projects_are_created_opened_renamed_and_deleted(
    console: Console, console_server: str
) -> None:
    page, base = console.page, console_server
    email, api = new_account(base)
    page.goto(f"{base}/account")
    sign_in(page, email)
    page.get_by_role("link", name="Projects", exact=True).click()
    expect(heading(page)).to_have_text("Projects")
    expect(page.get_by_text("No project yet.")).to_be_visible()

    create = page.get_by_role("region", name="New project")
    create.get_by_label("Name", exact=True).fill("digits")
    create.get_by_label("Description").fill("Handwritten digits")
    create.get_by_label("Task").select_option("image_classification")
    create.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("status").filter(has_text="Project digits created.")).to_be_visible()
    [project] = api.get("/api/v1/projects").json()["items"]
    assert project["name"] == "digits" and project["task_type"] == "image_classification"

    # A guest's second project: the API's own refusal, as it said it.
    refused = api.post("/api/v1/projects", json={"name": "second"})
    assert refused.status_code == 403
    console.expect_error("status of 403")
    create.get_by_label("Name", exact=True).fill("third")
    create.get_by_role("button", name="Create project").click()
    expect(create.get_by_role("alert")).to_have_text(refused.json()["error"]["message"])
    console.screenshot("projects-created")

    # What belongs to it: a dataset uploaded into the project.
    r = api.post(
        "/api/v1/datasets",
        data={"name": "digits in project", "project_id": project["id"]},
        files=[("files", ("d.zip", digits_imagefolder_zip(per_class=10, size=32)))],
    )
    assert r.status_code == 201, r.text
    page.get_by_role("table").get_by_role("link", name="digits").click()
    expect(page).to_have_url(f"{base}/projects?project={project['id']}")
    detail = page.get_by_role("region", name="Project digits")
    in_project = detail.get_by_role("list", name="Datasets in the project")
    expect(in_project.get_by_role("link")).to_have_text(["digits in project"])
    expect(detail.get_by_text("Training jobs (0)")).to_be_visible()
    console.screenshot("project-open")

    detail.get_by_label("Name", exact=True).fill("digits v2")
    detail.get_by_role("button", name="Save project").click()
    detail = page.get_by_role("region", name="Project digits v2")
    expect(detail).to_be_visible()
    assert api.get(f"/api/v1/projects/{project['id']}").json()["name"] == "digits v2"
    expect(page.get_by_role("table").get_by_role("link", name="digits v2")).to_be_visible()
    page.set_viewport_size(PHONE)
    page.reload()  # the open project is in the URL
    expect(page.get_by_role("region", name="Project digits v2")).to_be_visible()
    console.screenshot("project-renamed-390")
    page.set_viewport_size({"width": 1280, "height": 800})

    detail = page.get_by_role("region", name="Project digits v2")
    detail.get_by_role("button", name="Delete project").click()
    detail.get_by_role("button", name="Yes, delete the project").click()
    expect(page.get_by_text("No project yet.")).to_be_visible()
    expect(page).to_have_url(f"{base}/projects")
    assert api.get("/api/v1/projects").json()["total"] == 0
    # Its dataset stays, in no project.
    assert api.get(f"/api/v1/datasets/{r.json()['id']}").json()["project_id"] is None
