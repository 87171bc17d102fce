"""The API serves the web console's build at / (api/web_console.py) without changing
what its own paths answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

INDEX = "<!doctype html><title>console</title>"


@pytest.fixture()
def build(tmp_path: Path) -> Path:
    """A console build as scripts/build_web.sh leaves it: index.html, config.json and
    content-hashed assets."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "config.json").write_text('{"apiBaseUrl": ""}')
    (dist / "assets" / "index-abc123.js").write_text("console.log(1)")
    return dist


def _client(console_dir: Path) -> TestClient:
    from api.main import create_app
    from api.settings import Settings

    return TestClient(create_app(Settings(web_console_dir=str(console_dir))))


def test_console_paths_answer_index_html_so_every_url_of_the_console_loads(build: Path) -> None:
    c = _client(build)
    for path in ("/", "/datasets", "/training/2f0c6f1e-0000-4000-8000-000000000000", "/a/b/"):
        r = c.get(path)
        assert r.status_code == 200 and r.text == INDEX, path
        assert r.headers["cache-control"] == "no-cache"


def test_built_files_are_served_and_hashed_assets_cached_for_good(build: Path) -> None:
    c = _client(build)
    r = c.get("/assets/index-abc123.js")
    assert r.status_code == 200 and r.text == "console.log(1)"
    assert "immutable" in r.headers["cache-control"]
    assert c.get("/config.json").json() == {"apiBaseUrl": ""}
    assert c.head("/datasets").status_code == 200


def test_a_missing_asset_is_a_404_not_the_page(build: Path) -> None:
    r = _client(build).get("/assets/index-gone.js")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_api_paths_keep_their_own_answers_and_json_errors(build: Path) -> None:
    c = _client(build)
    for path in ("/api/v1/nothing-here", "/v1/nothing-here", "/docs/nothing", "/metrics/x"):
        r = c.get(path)
        assert r.status_code == 404, path
        assert r.json()["error"]["code"] == "not_found", path
    r = c.get("/api/v1/auth/login")  # a POST route: still 405, not the console
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    assert c.get("/health").status_code == 200
    assert c.get("/openapi.json").json()["openapi"].startswith("3.")
    assert c.post("/datasets").status_code == 404  # only GET and HEAD reach the console


def test_paths_outside_the_build_are_never_served(build: Path) -> None:
    secret = build.parent / "secret.txt"
    secret.write_text("not for browsers")
    c = _client(build)
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
        r = c.get(path)
        assert "not for browsers" not in r.text, path


def test_without_a_build_the_api_serves_no_console(tmp_path: Path) -> None:
    r = _client(tmp_path).get("/")  # a folder with no index.html
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
