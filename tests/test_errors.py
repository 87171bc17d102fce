"""Every error, whatever raised it, has the shape {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import pytest
from fastapi import APIRouter


def _is_error_shape(body: dict) -> bool:
    return set(body) >= {"error"} and set(body["error"]) == {"code", "message", "details"}


def test_unknown_route_is_a_404_in_the_common_shape(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and _is_error_shape(r.json())
    assert r.json()["error"]["code"] == "not_found"


def test_wrong_method_is_a_405_in_the_common_shape(client):
    r = client.put("/health")
    assert r.status_code == 405 and _is_error_shape(r.json())
    assert r.json()["error"]["code"] == "method_not_allowed"


def test_malformed_json_is_a_422_naming_the_problem(client, make_user):
    user = make_user()
    r = client.post(
        "/api/v1/projects",
        content=b"{not json",
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and _is_error_shape(r.json())


def test_a_path_id_that_is_not_a_uuid_is_a_422(client, make_user):
    user = make_user()
    r = client.get("/api/v1/projects/not-a-uuid", headers=user.headers)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["loc"] == ["path", "project_id"]


@pytest.fixture()
def crashing_app():
    """The real app factory with one extra route that fails the way a bug would."""
    from fastapi.testclient import TestClient

    from api.main import create_app

    app = create_app()
    boom = APIRouter()

    @boom.get("/boom")
    def explode() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    app.include_router(boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_an_unexpected_exception_is_a_500_without_a_stack_trace(crashing_app, capfd):
    r = crashing_app.get("/boom", headers={"X-Request-ID": "trace-me-123"})
    assert r.status_code == 500 and _is_error_shape(r.json())
    assert r.json()["error"]["code"] == "internal_error"
    assert "hunter2" not in r.text and "Traceback" not in r.text
    assert r.headers["x-request-id"] == "trace-me-123"
    # ... but the server's log has it, tied to the request id.
    logged = capfd.readouterr().err
    assert "hunter2" in logged and "trace-me-123" in logged
