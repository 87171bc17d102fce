"""What every browser test of the console checks: no console errors it did not expect, a
screenshot of each screen it visits (under test-artifacts/web/<test>/), and on each of
them one h1, labelled controls, named buttons and nothing wider than the viewport."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "web"

# pytest-base-url (a pytest-playwright dependency) trips a pytest 9 deprecation warning;
# every browser test module carries `pytestmark = WEB_TEST_MARKS`.
WEB_TEST_MARKS = [
    pytest.mark.filterwarnings(
        "ignore:Session-scoped fixtures defined as instance methods:pytest.PytestRemovedIn10Warning"
    )
]

# Errors that are never the console's: a favicon probe by the browser itself.
IGNORED = [re.compile(r"favicon\.ico")]


class Console:
    """The page under test, its console errors, and its screenshots."""

    def __init__(self, page: Any, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.errors: list[str] = []
        self.expected: list[re.Pattern[str]] = []
        self.shots: list[Path] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        text = f"{message.text} ({message.location.get('url', '')})"
        if not any(p.search(text) for p in IGNORED + self.expected):
            self.errors.append(text)

    def expect_error(self, pattern: str) -> None:
        """Chromium logs every 4xx/5xx answer to fetch as a console error: a test that
        provokes one on purpose names it here, and only that one is let through."""
        self.expected.append(re.compile(pattern))

    def screenshot(self, name: str) -> Path:
        """Check what every screen must have, then save the screen as it is now."""
        check_accessible(self.page)
        path = self.folder / f"{len(self.shots) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        return path


def check_accessible(page: Any) -> None:
    """One h1; every form control labelled; every button named; nothing wider than the
    viewport (so it reads at 390 px too)."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    problems = page.evaluate(
        """() => {
        const out = [];
        for (const el of document.querySelectorAll('input, select, textarea')) {
            if (el.type === 'hidden') continue;
            if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                out.push('unlabelled ' + el.outerHTML.slice(0, 80));
        }
        for (const el of document.querySelectorAll('button, [role=button]')) {
            if (!(el.textContent.trim() || el.getAttribute('aria-label')))
                out.push('unnamed button ' + el.outerHTML.slice(0, 80));
        }
        const width = document.documentElement.clientWidth;
        if (document.documentElement.scrollWidth > width + 1)
            out.push('page wider than the viewport: ' + document.documentElement.scrollWidth);
        return out;
    }"""
    )
    assert problems == [], problems
