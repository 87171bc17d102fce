"""Route modules imported on first use: the one place the API pays its cold-start rule.

`import api.main` is what a Lambda cold start pays before it can answer anything, and
the route modules (their schemas, their services and through them SQLAlchemy and our
models) are most of what the API would load. So the app includes a `LazyRouter` per
route module, which knows only the path prefixes its module serves: a request under one
of them imports that module and no other, and anything that walks the routes (the
OpenAPI document, the 405's `Allow`, a test) imports the modules it walks. Route modules
themselves are ordinary code: they import their services at the top.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable

from fastapi import APIRouter, FastAPI
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match
from starlette.types import Scope


class LazyRouter(APIRouter):
    """The routes of `module`'s `router`, imported when first needed.

    `prefixes` must cover every path the module serves: a request is matched against
    the module's routes only when its path starts with one of them (tests/test_routing.py
    checks it). The module's router must carry everything in its routes (prefix,
    tags, responses, dependencies are written into each route when it is declared), since
    its routes are adopted, not its router.
    """

    def __init__(self, module: str, prefixes: tuple[str, ...]) -> None:
        # Set before APIRouter.__init__, which assigns `routes`.
        self.module = module
        self.prefixes = prefixes
        self._loaded = False
        self._armed = False
        self._lock = threading.Lock()
        super().__init__()

    @property  # type: ignore[override]
    def routes(self) -> list[BaseRoute]:
        self._load_if_armed()
        return self._routes

    @routes.setter
    def routes(self, routes: list[BaseRoute]) -> None:
        self._routes = routes

    def load(self) -> None:
        """Import the module and adopt its routes (once; concurrent callers wait)."""
        with self._lock:
            if self._loaded:
                return
            source: APIRouter = importlib.import_module(self.module).router
            self._routes.extend(source.routes)
            self._loaded = True
            self._mark_routes_changed()  # FastAPI rebuilds its view of this router

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not get_route_path(scope).startswith(self.prefixes):
            return Match.NONE, {}  # not this module's path: nothing to import
        if not self._loaded:
            self.load()
        return super().matches(scope)

    def _get_routes_version(self, seen: set[int] | None = None) -> int:
        # FastAPI reads the version before it walks the routes and caches its view under
        # it: loaded first, the version it reads already counts the module's routes.
        self._load_if_armed()
        return super()._get_routes_version(seen)

    def _contains_router(self, router: APIRouter, seen: set[int] | None = None) -> bool:
        return self._loaded and super()._contains_router(router, seen)

    def _load_if_armed(self) -> None:
        if not self._loaded and self._armed:
            self.load()


def prepare(app: FastAPI, method: str, path: str) -> None:
    """Match a request for `path` as the first one would, without answering it: its
    module is imported and FastAPI builds its view of that module's routes (their
    fields and dependencies, made on first match). The endpoint's first call paid both,
    ~10 ms where a call takes 2 (benchmarks/endpoint_first_call.py)."""
    scope: Scope = {
        "type": "http", "method": method, "path": path, "root_path": "",
        "headers": [], "query_string": b"", "app": app,
    }  # fmt: skip
    for route in app.router.routes:
        if route.matches(scope)[0] is Match.FULL:
            return


def include_lazily(app: FastAPI, table: Iterable[tuple[str, tuple[str, ...]]]) -> None:
    """Include a `LazyRouter` for each (module, path prefixes) of `table`, in its order
    (the order routes are matched in)."""
    for module, prefixes in table:
        router = LazyRouter(module, prefixes)
        # Including walks the router's routes; armed only after, that walk imports nothing.
        app.include_router(router)
        router._armed = True
