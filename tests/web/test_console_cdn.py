"""The CDN shape: the console's static build served from another origin (here Python's
http.server, as S3 or R2 behind a CDN would), reading the API's address from its
config.json, against an API that serves no console and allows that origin (CORS_ORIGINS).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
from playwright.sync_api import expect

from tests.conftest import api_process
from tests.digits import digits_imagefolder_zip
from tests.web.browser import WEB_TEST_MARKS, Console
from tests.web.test_console import PASSWORD, TRAINING, heading

pytestmark = WEB_TEST_MARKS


class _StaticFiles(http.server.SimpleHTTPRequestHandler):
    """Plain static files, and index.html for a path that is no file, as a CDN rewrites
    the console's own URLs (README: Web console)."""

    def translate_path(self, path: str) -> str:
        translated = super().translate_path(path)
        name = path.split("?", 1)[0].rsplit("/", 1)[-1]
        if not os.path.exists(translated) and "." not in name:
            return super().translate_path("/index.html")
        return translated

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def static_site(folder: Path) -> Iterator[str]:
    """`folder` served as static files on a free port of its own; its origin."""
    handler = functools.partial(_StaticFiles, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_static_build_on_another_origin_uses_the_api_named_in_config_json(
    console: Console, console_build: Path, database: str, tmp_path: Path
) -> None:
    page = console.page
    site = tmp_path / "site"
    shutil.copytree(console_build, site)
    no_console = tmp_path / "no-console"
    no_console.mkdir()
    with (
        static_site(site) as origin,
        api_process(CORS_ORIGINS=json.dumps([origin]), WEB_CONSOLE_DIR=str(no_console)) as api,
    ):
        (site / "config.json").write_text(json.dumps({"apiBaseUrl": api}))
        assert httpx.get(f"{api}/").status_code == 404  # this API serves no console

        page.goto(f"{origin}/")
        expect(heading(page)).to_have_text("Sign in")
        page.get_by_role("link", name="Create an account").click()
        # The register screen's code loads on the way: until its heading shows, the sign-in
        # form (its own Email and Password) is still the page, and a fill would land there.
        expect(heading(page)).to_have_text("Create an account")
        email = f"cdn-{uuid.uuid4().hex[:8]}@example.com"
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        expect(heading(page)).to_have_text("Home")
        expect(page.get_by_text(email)).to_be_visible()  # /auth/me, from the other origin
        console.screenshot("cdn-home")

        # A multipart upload, then a training run followed over EventSource: both
        # cross-origin, the stream's token in its URL.
        page.get_by_role("link", name="Datasets", exact=True).click()
        expect(heading(page)).to_have_text("Datasets")
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
        page.reload()  # the CDN answers index.html for the console's own URLs
        expect(page.get_by_role("table").get_by_role("link", name="digits")).to_be_visible()
        console.screenshot("cdn-datasets")

        client = httpx.Client(base_url=api, timeout=120)
        token = client.post(
            "/api/v1/auth/login", data={"username": email, "password": PASSWORD}
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        dataset = client.get("/api/v1/datasets").json()["items"][0]
        training = {**TRAINING, "config": {**TRAINING["config"], "epochs": 1}}
        r = client.post(
            "/api/v1/training/jobs", json={**training, "dataset_id": dataset["id"], "start": False}
        )
        assert r.status_code == 201, r.text
        job = r.json()

        page.get_by_role("link", name="Training jobs", exact=True).click()
        page.get_by_role("link", name="digits resnet18").click()
        expect(page).to_have_url(f"{origin}/training/{job['id']}")
        overview = page.get_by_role("status").filter(has_text="Attempt")
        expect(overview).to_contain_text("Event stream: Live")
        assert client.post(f"/api/v1/training/jobs/{job['id']}/start").status_code == 200
        expect(overview).to_contain_text("completed", timeout=240_000)
        expect(overview).to_contain_text("Epoch 1 of 1")
        expect(page.get_by_role("img", name=re.compile(r"^Loss: 1 epoch;"))).to_be_visible()
        console.screenshot("cdn-training-run")
        page.reload()
        expect(overview).to_contain_text("completed")
