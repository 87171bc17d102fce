"""The OpenAPI document says what the API does (clients are generated from it): every
operation declares the error answers it can give, in the common shape; each path
answers OPTIONS, and a method it lacks, with every method it has in `Allow`; parameters
list the values their routes accept."""

from __future__ import annotations

import re
import uuid
from typing import Any

from contract import catalog

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ERROR_STATUSES = {"400", "401", "403", "404", "409", "413", "422", "429", "500", "503"}


def _paths(app) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    return app.openapi()["paths"]  # type: ignore[no-any-return]


def _url(template: str) -> str:
    return re.sub(r"\{\w+\}", lambda _: str(uuid.uuid4()), template)


def _methods_at(paths: dict[str, dict[str, Any]], url: str) -> set[str]:
    """Every documented method of every path template that `url` matches."""
    found: set[str] = set()
    for template, operations in paths.items():
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, url):
            found |= {m.upper() for m in operations if m.upper() in METHODS}
    return found


def test_every_operation_declares_the_error_answers_in_the_common_shape(app):
    for path, operations in _paths(app).items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert set(responses) >= ERROR_STATUSES, (method, path, sorted(responses))
            for status in ERROR_STATUSES:
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, status)
                assert responses[status]["description"]  # what it means, for the reader


def test_options_answers_204_allowing_every_method_of_the_path(app, client):
    paths = _paths(app)
    for template in paths:
        url = _url(template)
        r = client.options(url)
        assert r.status_code == 204, (url, r.status_code, r.text)
        allowed = set(r.headers["allow"].split(", "))
        assert allowed == _methods_at(paths, url) | {"OPTIONS"}, (template, allowed)


def test_a_method_a_path_lacks_is_405_allowing_every_method_it_has(app, client, admin):
    paths = _paths(app)
    checked = 0
    for template in paths:
        url = _url(template)
        have = _methods_at(paths, url)
        for method in sorted(set(METHODS) - have)[:1]:
            r = client.request(method, url, headers=admin.headers)
            assert r.status_code == 405, (method, url, r.status_code, r.text)
            assert set(r.headers["allow"].split(", ")) == have | {"OPTIONS"}, (method, url)
            assert r.json()["error"]["code"] == "method_not_allowed"
            checked += 1
    assert checked > 30
    # The example: GET and PATCH share /api/v1/auth/me.
    r = client.put("/api/v1/auth/me", headers=admin.headers)
    assert (r.status_code, r.headers["allow"]) == (405, "GET, OPTIONS, PATCH")


def test_framework_parameters_list_exactly_the_frameworks_their_routes_accept(app, client, admin):
    listed = []
    for path, operations in _paths(app).items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "framework" and "enum" in parameter["schema"]:
                    assert parameter["schema"]["enum"] == list(catalog.FRAMEWORKS), path
                    listed.append((method, path))
    # Each route that refuses an unknown framework says which it takes.
    assert {
        ("get", "/api/v1/training/config-schema"),
        ("get", "/api/v1/export/capabilities"),
        ("get", "/api/v1/runners/{runner}/capabilities"),
    } <= set(listed)
    url = "/api/v1/training/config-schema"
    for value in ("", "caffe"):  # not listed: refused
        r = client.get(url, params={"framework": value, "task_type": "image_classification"},
                       headers=admin.headers)  # fmt: skip
        assert r.status_code == 422 and r.json()["error"]["message"].startswith("framework:")
    for framework in catalog.FRAMEWORKS:  # listed: accepted
        task = catalog.models(framework=framework)[0].task_types[0]
        r = client.get(url, params={"framework": framework, "task_type": task},
                       headers=admin.headers)  # fmt: skip
        assert r.status_code == 200, (framework, r.text)
