"""The web console in a real browser against the real API (same origin: the API serves
the build at /): accounts, datasets, and a training run followed live to its end.

Every screen a test visits is saved under test-artifacts/web/<test>/ and checked for one
h1, labelled controls, named buttons and no horizontal overflow; a browser console
error the test did not provoke on purpose fails it.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
from playwright.sync_api import Page, expect

from tests.digits import digits_imagefolder_zip
from tests.web.browser import WEB_TEST_MARKS, Console

pytestmark = WEB_TEST_MARKS

PASSWORD = "console tests password"
# resnet18 from scratch on 200 digits at 32 px: seconds an epoch on a CPU.
TRAINING = {
    "framework": "timm",
    "model_name": "resnet18",
    "name": "digits resnet18",
    "config": {
        "epochs": 3,
        "batch_size": 32,
        "image_size": 32,
        "learning_rate": 0.001,
        "augmentation": "none",
        "pretrained": False,
    },
}
LONG = 240_000  # ms: the most a training run of the tests may take to end


def new_account(base: str) -> tuple[str, httpx.Client]:
    """A fresh account made through the API; its email and a client logged in as it."""
    email = f"console-{uuid.uuid4().hex[:8]}@example.com"
    client = httpx.Client(base_url=base, timeout=120)
    r = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = client.post("/api/v1/auth/login", data={"username": email, "password": PASSWORD})
    client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return email, client


def upload_digits(client: httpx.Client, per_class: int = 20) -> dict:
    data = digits_imagefolder_zip(per_class=per_class, size=32)
    r = client.post(
        "/api/v1/datasets",
        data={"name": "digits"},
        files=[("files", ("digits.zip", data, "application/zip"))],
    )
    assert r.status_code == 201 and r.json()["status"] == "ready", r.text
    return r.json()  # type: ignore[no-any-return]


def sign_in(page: Page, email: str) -> None:
    """Fill the sign-in form the page shows and send it with the keyboard."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")


def heading(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("heading", level=1)


def test_register_upload_and_inspect_a_dataset(console: Console, console_server: str) -> None:
    page, base = console.page, console_server
    page.goto(f"{base}/datasets")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=%2Fdatasets$"))
    console.screenshot("sign-in")

    page.get_by_role("link", name="Create an account").click()
    expect(heading(page)).to_have_text("Create an account")
    # The API's own messages, beside the fields its validation details name.
    console.expect_error("status of 422")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_label("Email")).to_have_accessible_description(
        re.compile("not a valid email address")
    )
    expect(page.get_by_label("Password")).to_have_accessible_description(
        re.compile("at least 8 characters")
    )
    console.screenshot("register-field-errors")

    email = f"console-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(heading(page)).to_have_text("Datasets")  # back where the user was going
    expect(page).to_have_url(f"{base}/datasets")
    expect(page.get_by_text(email)).to_be_visible()

    page.get_by_label("Name", exact=True).fill("digits")
    page.get_by_label("Files").set_input_files(
        files=[
            {
                "name": "digits.zip",
                "mimeType": "application/zip",
                "buffer": digits_imagefolder_zip(per_class=20, size=32),
            }
        ]
    )
    page.get_by_role("button", name="Upload").click()
    result = page.get_by_role("status").filter(has_text="uploaded")
    expect(result).to_contain_text("ready")
    expect(result).to_contain_text("200 images, 10 classes (imagefolder)")
    listed = page.get_by_role("table").get_by_role("link", name="digits")
    expect(listed).to_be_visible()
    console.screenshot("datasets-uploaded")

    listed.click()
    expect(heading(page)).to_have_text("digits")
    dataset_url = page.url
    assert re.search(r"/datasets/[0-9a-f-]{36}$", dataset_url), dataset_url
    histogram = page.get_by_role("figure", name="Images per class")
    expect(histogram.get_by_role("row")).to_have_count(11)  # a header and ten classes
    expect(histogram.get_by_role("row", name="digit_7 20")).to_be_visible()
    expect(page.get_by_text("Images in train")).to_be_visible()
    page.get_by_label("Version tag").fill("v1")
    page.get_by_role("button", name="Take snapshot").click()
    snapshots = page.get_by_role("region", name="Snapshots").get_by_role("table")
    expect(snapshots.get_by_role("row").filter(has_text="v1")).to_contain_text("200")
    console.screenshot("dataset-detail")

    # The gallery: a page of thumbnails, filtered by class and split in the URL.
    gallery = page.get_by_role("list", name="Images")
    expect(gallery.get_by_role("img")).to_have_count(24)
    first = gallery.get_by_role("img").first
    first.scroll_into_view_if_needed()
    expect(first).to_have_js_property("complete", True)
    assert first.evaluate("img => img.naturalWidth") > 0  # the thumbnail itself loaded
    page.get_by_label("Class", exact=True).select_option("digit_3")
    expect(gallery.get_by_role("img")).to_have_count(20)
    expect(gallery.get_by_role("img").first).to_have_accessible_name(re.compile(r": digit_3$"))
    page.get_by_label("Split", exact=True).select_option("val")
    expect(gallery.get_by_role("img")).to_have_count(4)
    expect(page).to_have_url(re.compile(r"\?class=digit_3&split=val$"))
    console.screenshot("dataset-gallery-filtered")

    page.reload()
    expect(heading(page)).to_have_text("digits")
    expect(snapshots.get_by_role("row").filter(has_text="v1")).to_be_visible()
    expect(gallery.get_by_role("img")).to_have_count(4)
    page.go_back()  # the filters, one step at a time
    expect(page.get_by_label("Split", exact=True)).to_have_value("")
    expect(gallery.get_by_role("img")).to_have_count(20)
    page.go_back()
    page.go_back()
    expect(heading(page)).to_have_text("Datasets")
    expect(page).to_have_url(f"{base}/datasets")
    page.go_forward()
    expect(heading(page)).to_have_text("digits")
    expect(page).to_have_url(dataset_url)

    page.get_by_role("link", name="Home", exact=True).click()
    expect(heading(page)).to_have_text("Home")
    recent = page.get_by_role("region", name="Recent datasets")
    expect(recent.get_by_role("link", name="digits", exact=True)).to_be_visible()
    console.screenshot("home")


def test_training_run_page_follows_the_job_live_to_its_end(
    console: Console, console_server: str
) -> None:
    page, base = console.page, console_server
    email, api = new_account(base)
    dataset = upload_digits(api)
    r = api.post(
        "/api/v1/training/jobs", json={**TRAINING, "dataset_id": dataset["id"], "start": False}
    )
    assert r.status_code == 201, r.text
    job = r.json()

    page.goto(f"{base}/training")
    sign_in(page, email)
    expect(heading(page)).to_have_text("Training jobs")
    page.get_by_role("link", name="digits resnet18").click()
    expect(heading(page)).to_have_text("digits resnet18")
    expect(page).to_have_url(f"{base}/training/{job['id']}")
    overview = page.get_by_role("status").filter(has_text="Attempt")
    expect(overview).to_contain_text("pending")
    expect(overview).to_contain_text("Event stream: Live")  # following before it starts
    console.screenshot("training-run-pending")

    r = api.post(f"/api/v1/training/jobs/{job['id']}/start")
    assert r.status_code == 200, r.text
    expect(overview).to_contain_text("running", timeout=LONG)
    expect(page.get_by_role("img", name=re.compile(r"^Loss: 1 epoch"))).to_be_visible(timeout=LONG)
    console.screenshot("training-run-live")

    # Everything below arrived over the stream: the page was never reloaded.
    expect(overview).to_contain_text("completed", timeout=LONG)
    expect(overview).to_contain_text("Epoch 3 of 3")
    expect(overview).to_contain_text("Event stream: Ended")
    expect(page.get_by_role("img", name=re.compile(r"^Loss: 3 epochs"))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^Metrics: 3 epochs"))).to_be_visible()
    log = page.get_by_role("list", name="Events")
    expect(log).to_contain_text("epoch 3 validated")
    expect(log).to_contain_text("checkpoint of epoch 3 saved")
    expect(page.get_by_role("button", name="Cancel training")).to_have_count(0)
    console.screenshot("training-run-completed")

    page.reload()  # the same run, from the API's records
    expect(heading(page)).to_have_text("digits resnet18")
    expect(overview).to_contain_text("completed")
    expect(page.get_by_role("img", name=re.compile(r"^Loss: 3 epochs"))).to_be_visible()
    expect(log).to_contain_text("epoch 3 validated")

    page.set_viewport_size({"width": 390, "height": 844})
    console.screenshot("training-run-phone")
    page.get_by_role("link", name="Training jobs", exact=True).click()
    expect(heading(page)).to_have_text("Training jobs")
    expect(page.get_by_role("row").filter(has_text="digits resnet18")).to_contain_text("completed")
    console.screenshot("training-jobs-phone")
    page.set_viewport_size({"width": 1280, "height": 800})
    console.screenshot("training-jobs")


def test_sign_out_then_a_protected_url_signs_in_and_returns_there(
    console: Console, console_server: str
) -> None:
    page, base = console.page, console_server
    email, _ = new_account(base)
    page.goto(base)
    sign_in(page, email)
    expect(heading(page)).to_have_text("Home")
    page.get_by_role("button", name="Sign out").click()
    expect(heading(page)).to_have_text("Sign in")

    page.goto(f"{base}/training?status=completed")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=%2Ftraining%3Fstatus%3Dcompleted$"))
    console.screenshot("sign-in-for-protected-url")
    sign_in(page, email)
    expect(heading(page)).to_have_text("Training jobs")
    expect(page).to_have_url(f"{base}/training?status=completed")
    expect(page.get_by_label("Status")).to_have_value("completed")


def test_an_expired_login_returns_to_sign_in_and_then_where_the_user_was(
    console: Console, console_server: str
) -> None:
    from api.auth.tokens import encode_token
    from api.settings import get_settings

    page, base = console.page, console_server
    email, api = new_account(base)
    user_id = api.get("/api/v1/auth/me").json()["id"]
    expired = encode_token(
        get_settings(), subject=user_id, typ="access", ttl=timedelta(seconds=-60)
    )
    page.goto(base)
    # The console keeps its login in localStorage under this key (web/src/api/session.ts).
    page.evaluate("token => localStorage.setItem('vap.accessToken', token)", expired)
    console.expect_error("status of 401")
    page.goto(f"{base}/datasets")
    expect(heading(page)).to_have_text("Sign in")
    expect(page.get_by_role("status")).to_contain_text("Your session has ended")
    console.screenshot("session-expired")
    sign_in(page, email)
    expect(heading(page)).to_have_text("Datasets")
    expect(page).to_have_url(f"{base}/datasets")


def test_api_errors_show_the_apis_own_message(console: Console, console_server: str) -> None:
    page, base = console.page, console_server
    email, _ = new_account(base)
    page.goto(f"{base}/sign-in")
    console.expect_error("status of 401")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Incorrect email or password")
    console.screenshot("sign-in-refused")

    sign_in(page, email)
    expect(heading(page)).to_have_text("Home")
    page.goto(f"{base}/training/{uuid.uuid4()}")
    console.expect_error("status of 404")
    expect(page.get_by_role("alert")).to_contain_text(re.compile("not found", re.I))
    console.screenshot("training-run-not-found")
    page.goto(f"{base}/no/such/page")
    expect(heading(page)).to_have_text("Page not found")


def test_the_gallery_draws_each_images_boxes_over_its_thumbnail(
    console: Console, console_server: str
) -> None:
    from tests.detection_data import yolo_detection_zip

    page, base = console.page, console_server
    email, api = new_account(base)
    r = api.post(
        "/api/v1/datasets",
        data={"name": "photos"},
        files=[("files", ("photos.zip", yolo_detection_zip(), "application/zip"))],
    )
    assert r.status_code == 201 and r.json()["status"] == "ready", r.text
    boxes = sum(len(image["annotations"]) for image in api.get(
        f"/api/v1/datasets/{r.json()['id']}/images"
    ).json()["items"])  # fmt: skip

    page.goto(f"{base}/datasets/{r.json()['id']}")
    sign_in(page, email)
    expect(heading(page)).to_have_text("photos")
    gallery = page.get_by_role("list", name="Images")
    expect(gallery.get_by_role("img", name=re.compile(r"objects?: .*person"))).not_to_have_count(0)
    expect(gallery.locator("rect")).to_have_count(boxes)  # one box drawn per annotation
    console.screenshot("dataset-gallery-boxes")
