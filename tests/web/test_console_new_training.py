"""The new-training screen in a real browser against the real API: from a dataset to a
model card, a form built from the config schema, a preset, the API's own refusal beside
its field, the chat filling the form without submitting it, and the job it creates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.web.browser import WEB_TEST_MARKS, Console
from tests.web.test_console import heading, new_account, sign_in, upload_digits

pytestmark = WEB_TEST_MARKS

CLASSIFICATION = {"framework": "timm", "task_type": "image_classification"}


@pytest.fixture(scope="module")
def strict_console_server(console_build: Path, database: str) -> Iterator[str]:
    """The console on an API that holds every role to its real job limits (the tests'
    settings raise them for everyone): a guest may ask for at most 2 attempts."""
    from tests.conftest import api_process

    with api_process(WEB_CONSOLE_DIR=str(console_build), JOB_LIMITS="{}") as base:
        yield base


def test_new_training_from_a_dataset_with_a_preset_an_api_error_and_the_chat(
    console: Console, strict_console_server: str
) -> None:
    page, base = console.page, strict_console_server
    email, api = new_account(base)
    dataset = upload_digits(api, per_class=10)
    assert api.get("/api/v1/auth/me").json()["role"] == "guest"
    models = api.get("/api/v1/models", params={"task_type": "image_classification"}).json()
    schema = api.get("/api/v1/training/config-schema", params=CLASSIFICATION).json()

    # From the dataset's own page.
    page.goto(f"{base}/datasets/{dataset['id']}")
    sign_in(page, email)
    expect(heading(page)).to_have_text("digits")
    page.get_by_role("link", name="Train a model").click()
    expect(heading(page)).to_have_text("New training")
    expect(page).to_have_url(f"{base}/training/new?dataset={dataset['id']}")
    expect(page.get_by_role("combobox", name="Dataset", exact=True)).to_have_value(dataset["id"])

    # The catalog: one card per model the API has for the dataset's task.
    cards = page.get_by_role("radio")
    expect(cards).to_have_count(models["total"])
    resnet = next(m for m in models["models"] if m["name"] == "resnet18")
    card = page.get_by_role("listitem").filter(
        has=page.get_by_role("radio", name="resnet18 (timm)")
    )
    expect(card).to_contain_text(f"{resnet['default_image_size']} px input")
    expect(card).to_contain_text(f"{resnet['parameters'] / 1e6:.1f} M parameters")
    console.screenshot("model-catalog")

    page.get_by_role("radio", name="resnet18 (timm)").check()
    expect(page).to_have_url(re.compile(r"[?&]framework=timm&model=resnet18$"))
    # One labelled control per field of the schema, each at the schema's default.
    for field in schema["fields"]:
        control = page.get_by_label(field["label"], exact=True)
        if field["type"] == "boolean":
            expect(control).to_be_checked(checked=field["default"])
        elif field["type"] == "select" or field["default"] is None:
            expect(control).to_have_value(field["default"] or "")
        else:  # as the browser writes the number (0.0 reads "0")
            assert float(control.input_value()) == field["default"], field["name"]
    page.get_by_role("button", name="Apply the basic preset").click()
    basic = schema["presets"]["basic"]
    expect(page.get_by_label("Epochs", exact=True)).to_have_value(str(basic["epochs"]))
    expect(page.get_by_label("Optimizer", exact=True)).to_have_value(basic["optimizer"])
    expect(page.get_by_label("LR schedule", exact=True)).to_have_value(basic["scheduler"])
    console.screenshot("basic-preset")

    # A value inside the request schema's range (1 to 10) that the API refuses for a
    # reason only it knows: a guest's own limit. Its message sits beside the field.
    console.expect_error("status of 422")
    page.get_by_label("Job name").fill("digits from the console")
    page.get_by_label("Attempts").fill("5")
    page.get_by_role("button", name="Start training").click()
    attempts = page.get_by_label("Attempts")
    expect(attempts).to_have_accessible_description(
        re.compile("a guest may ask at most 2 attempts")
    )
    expect(attempts).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_have_text("Correct the fields marked above.")
    assert api.get("/api/v1/training/jobs").json()["total"] == 0
    console.screenshot("field-error-from-the-api")
    attempts.fill("2")
    expect(attempts).not_to_have_attribute("aria-invalid", "true")

    # The chat fills the form from the API's reading, and submits nothing.
    page.get_by_label("Message").fill("train resnet18 for 2 epochs at 32 pixels")
    page.get_by_role("button", name="Send").click()
    reply = page.get_by_role("status").filter(has_text="Filled in the form")
    expect(reply).to_contain_text(re.compile(r"Filled in the form: .*epochs"))
    expect(reply).to_contain_text(re.compile(r"Filled in the form: .*image size"))
    chat = api.get("/api/v1/chat/conversations").json()["items"]
    assert len(chat) == 1  # the API was asked, and its questions are shown
    answered = api.get(f"/api/v1/chat/conversations/{chat[0]['id']}").json()["messages"][-1]
    for question in answered["questions"]:
        expect(reply).to_contain_text(question["question"])
    expect(reply).to_contain_text("The form keeps digits.")  # it asked which dataset
    expect(reply).to_contain_text("rule-based parser")
    expect(page.get_by_label("Epochs", exact=True)).to_have_value("2")
    expect(page.get_by_label("Image size", exact=True)).to_have_value("32")
    expect(page.get_by_label("Optimizer", exact=True)).to_have_value(basic["optimizer"])
    expect(page.get_by_label("Job name")).to_have_value("digits from the console")
    assert api.get("/api/v1/training/jobs").json()["total"] == 0  # and nothing submitted
    console.screenshot("chat-filled-the-form")

    page.get_by_label("Pretrained weights", exact=True).uncheck()  # no network here
    page.get_by_label("Augmentation", exact=True).select_option("none")
    page.set_viewport_size({"width": 390, "height": 800})
    console.screenshot("narrow")
    page.set_viewport_size({"width": 1280, "height": 800})

    # Everything is in the URL: a reload keeps it.
    page.reload()
    expect(heading(page)).to_have_text("New training")
    expect(page.get_by_role("radio", name="resnet18 (timm)")).to_be_checked()
    expect(page.get_by_label("Epochs", exact=True)).to_have_value("2")
    expect(page.get_by_label("Image size", exact=True)).to_have_value("32")
    expect(page.get_by_label("Attempts")).to_have_value("2")
    expect(page.get_by_label("Pretrained weights", exact=True)).not_to_be_checked()
    expect(page.get_by_label("Job name")).to_have_value("digits from the console")
    console.screenshot("reloaded")
    form_url = page.url

    page.get_by_role("button", name="Start training").click()
    expect(heading(page)).to_have_text("digits from the console")
    expect(page).to_have_url(re.compile(r"/training/[0-9a-f-]{36}$"))
    job_id = page.url.rsplit("/", 1)[1]
    listed = api.get("/api/v1/training/jobs").json()
    assert [j["id"] for j in listed["items"]] == [job_id]
    job = api.get(f"/api/v1/training/jobs/{job_id}").json()
    assert (job["name"], job["framework"], job["model_name"], job["dataset_id"]) == (
        "digits from the console", "timm", "resnet18", dataset["id"],
    )  # fmt: skip
    assert job["max_attempts"] == 2
    config = job["config"]
    assert (config["epochs"], config["image_size"], config["pretrained"]) == (2, 32, False)
    assert (config["optimizer"], config["scheduler"]) == (basic["optimizer"], basic["scheduler"])
    assert config["augmentation"] == "none"
    console.screenshot("training-run")

    page.go_back()
    expect(heading(page)).to_have_text("New training")
    expect(page).to_have_url(form_url)
    expect(page.get_by_label("Epochs", exact=True)).to_have_value("2")
    console.screenshot("back-to-the-form")

    # The jobs list leads here too.
    page.goto(f"{base}/training")
    expect(heading(page)).to_have_text("Training jobs")
    page.get_by_role("link", name="New training").click()
    expect(heading(page)).to_have_text("New training")
    expect(page).to_have_url(f"{base}/training/new")
    console.screenshot("new-training-from-the-jobs-list")
