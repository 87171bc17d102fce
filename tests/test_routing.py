"""The route table (api/main.py ROUTE_MODULES) and the lazy routers of api/routing.py:
a route module is imported only for a request under its prefixes, and its prefixes
cover every path it serves (a path outside them would answer 404)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

from fastapi.routing import APIRoute

from api.main import ROUTE_MODULES

ROOT = Path(__file__).parents[1]


def test_every_path_a_route_module_serves_lies_under_its_prefixes():
    for module, prefixes in ROUTE_MODULES:
        routes = [r for r in importlib.import_module(module).router.routes]
        assert routes, module
        for route in routes:
            assert isinstance(route, APIRoute), (module, route)
            assert route.path.startswith(prefixes), (module, route.path, prefixes)


def test_no_two_route_modules_share_a_prefix():
    prefixes = [p for _, ps in ROUTE_MODULES for p in ps]
    overlapping = [(a, b) for a in prefixes for b in prefixes if a != b and b.startswith(a)]
    assert not overlapping


def test_a_request_imports_its_route_module_and_no_other(tmp_path):
    code = (
        "import sys; from fastapi.testclient import TestClient; import api.main; "
        "before = [m for m in sys.modules if m.startswith('api.routes.')]; "
        "r = TestClient(api.main.app).get('/api/v1/auth/me'); "
        "after = sorted(m for m in sys.modules if m.startswith('api.routes.')); "
        "print(before, r.status_code, after)"
    )
    assert _last_line_of(code, tmp_path) == "[] 401 ['api.routes.auth']"


def _last_line_of(code: str, tmp_path: Path) -> str:
    """The last line `code` prints in a fresh interpreter (nothing imported yet)."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DATA_DIR": str(tmp_path)},
    )
    return out.stdout.strip().splitlines()[-1]


def test_prepare_imports_the_module_of_a_path_before_any_request(tmp_path):
    """What the API's startup does for the pay-per-call endpoint (api/main.py), so that
    its first call pays neither the import nor FastAPI's first match."""
    code = (
        "import sys; from fastapi.testclient import TestClient; import api.main; "
        "from api import routing; "
        "routing.prepare(api.main.app, 'GET', '/v1/health'); "
        "after = sorted(m for m in sys.modules if m.startswith('api.routes.')); "
        "r = TestClient(api.main.app).get('/v1/health'); "
        "print(after, r.status_code, r.json()['status'])"
    )
    assert _last_line_of(code, tmp_path) == "['api.routes.endpoint'] 200 ok"


def test_the_openapi_document_lists_every_route_module(app):
    tags = {tag for op in app.openapi()["paths"].values() for o in op.values() for tag in o["tags"]}
    for module, _ in ROUTE_MODULES:
        router = importlib.import_module(module).router
        assert set(router.tags) <= tags, module
