"""The web console (web/, built by scripts/build_web.sh) served at / by the API itself.

Only what no API route matched reaches it: the router's fallback is replaced, not a
route added, so API paths keep their own answers (a 405 stays a 405) and their 404s stay
JSON in the common error shape. A GET of a file in the build answers the file; a GET of
any other console path (no file extension) answers index.html, and the console's router
shows the page for that URL.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import FileResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.settings import Settings

CHECKOUT_BUILD = Path(__file__).resolve().parents[1] / "web" / "dist"

# Never the console's: the API's own paths answer 404 in the error shape when unknown.
API_PREFIXES = ("/api/", "/v1/", "/docs", "/redoc", "/openapi.json", "/health", "/metrics")

# Built files named by their content hash never change; the rest must be asked again.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def console_dir(settings: Settings) -> Path | None:
    """The console build to serve, or None when there is none (an API-only install)."""
    folder = Path(settings.web_console_dir) if settings.web_console_dir else CHECKOUT_BUILD
    return folder if (folder / "index.html").is_file() else None


class ConsoleFallback:
    """The router's fallback: console files and pages, else `not_found` (JSON 404)."""

    def __init__(self, root: Path, not_found: ASGIApp) -> None:
        self.root = root.resolve()
        self.not_found = not_found

    def _file(self, path: str) -> Path | None:
        candidate = (self.root / path.lstrip("/")).resolve()
        if candidate.is_relative_to(self.root) and candidate.is_file():
            return candidate
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or path.startswith(API_PREFIXES)
        ):
            await self.not_found(scope, receive, send)
            return
        found = self._file(path)
        if found is None and "." in path.rsplit("/", 1)[-1]:
            await self.not_found(scope, receive, send)  # a missing asset is not a page
            return
        found = found or self.root / "index.html"
        hashed = found.parent.name == "assets"
        response = FileResponse(
            found, headers={"Cache-Control": IMMUTABLE if hashed else REVALIDATE}
        )
        await response(scope, receive, send)


def mount_console(app: FastAPI, settings: Settings) -> None:
    """Serve the console at / when it has been built; nothing changes otherwise."""
    root = console_dir(settings)
    if root is not None:
        app.router.default = ConsoleFallback(root, app.router.default)
