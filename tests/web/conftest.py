"""Browser tests of the web console: Debian's chromium driven by Playwright (no browser
download, WEB-NOTES.md), against the real API serving the console's current build."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.browser import ARTIFACTS, ROOT, Console

CHROMIUM = os.environ.get("VAP_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}


@pytest.fixture(scope="session")
def console_build() -> Path:
    """web/dist built from the current sources (scripts/build_web.sh: seconds when
    nothing changed), this interpreter writing the API's OpenAPI for the types."""
    subprocess.run(
        [str(ROOT / "scripts" / "build_web.sh")],
        env={**os.environ, "VAP_PYTHON": sys.executable},
        check=True,
    )
    return ROOT / "web" / "dist"


@pytest.fixture(scope="session")
def console_server(console_build: Path, database: str) -> Iterator[str]:
    """The API as a real process serving the console at / (same origin); its base URL."""
    from tests.conftest import api_process

    with api_process(WEB_CONSOLE_DIR=str(console_build)) as base:
        yield base


@pytest.fixture()
def console(page: Any, request: pytest.FixtureRequest) -> Iterator[Console]:
    """The test's page; the test fails on any browser console error it did not expect."""
    folder = ARTIFACTS / request.node.originalname
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    c = Console(page, folder)
    yield c
    assert c.errors == [], "browser console errors:\n" + "\n".join(c.errors)
