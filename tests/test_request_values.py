"""Values PostgreSQL cannot take are refused with 422 before they reach it, on every
route: a NUL character in any text (query, path, JSON body, form field, file name), and
integers past what a route can page or count to. The routes are read from the app's own
OpenAPI document, so a route added later is covered without touching this file."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from api.db.models import JobKind
from api.services.jobs import tokens
from api.settings import get_settings
from tests.jobs import diagnostic_job

NUL = "\x00"
BEYOND_BIGINT = 2**63  # one past PostgreSQL's largest integer


def _get_operations(app) -> list[tuple[str, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    return [(path, ops["get"]) for path, ops in app.openapi()["paths"].items() if "get" in ops]


def _types(schema: dict[str, Any]) -> set[str]:
    found = {schema["type"]} if "type" in schema else set()
    for option in schema.get("anyOf", []):
        found |= _types(option)
    return found


def _query_params(operation: dict[str, Any], type_: str) -> list[str]:
    return [
        p["name"]
        for p in operation.get("parameters", [])
        if p["in"] == "query" and type_ in _types(p["schema"])
    ]


@pytest.fixture()
def target(admin) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A real job of the admin's, so `{job_id}` paths find it (and a callback token for
    it), and the admin's login, so no role check answers before validation does."""
    job_id = diagnostic_job(admin.id)
    callback = tokens.create(get_settings(), job_id, JobKind.DIAGNOSTIC, 1, 600)
    return {"job_id": job_id, "login": admin.headers, "callback": f"Bearer {callback}"}


def _request(path: str, operation: dict[str, Any], target: dict[str, Any]):  # type: ignore[no-untyped-def]
    """The operation's URL with its path filled in, and the headers its caller sends."""
    params = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "path"}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        schema = params[name]["schema"]
        if "enum" in schema:
            return str(schema["enum"][0])
        if name == "job_id":
            return str(target["job_id"])
        return str(uuid.uuid4()) if schema.get("format") == "uuid" else "x"

    url = re.sub(r"\{(\w+)\}", fill, path)
    schemes = {name for s in operation.get("security", []) for name in s}
    if "HTTPBearer" in schemes:  # a worker's callback: the job-scoped token
        return url, {"Authorization": target["callback"]}
    return url, target["login"]


def test_every_list_route_refuses_an_offset_past_any_page_with_422(app, client, target):
    listed = [
        (path, op) for path, op in _get_operations(app) if "offset" in _query_params(op, "integer")
    ]
    assert len(listed) >= 10  # the top-level lists, and the pages inside a resource
    for path, operation in listed:
        url, headers = _request(path, operation, target)
        r = client.get(url, params={"offset": BEYOND_BIGINT}, headers=headers)
        assert r.status_code == 422, (path, r.status_code, r.text)
        assert r.json()["error"]["message"].startswith("query.offset:"), (path, r.text)


def test_every_integer_query_parameter_past_bigint_is_a_4xx_never_a_500(app, client, target):
    checked = 0
    for path, operation in _get_operations(app):
        for name in _query_params(operation, "integer"):
            url, headers = _request(path, operation, target)
            r = client.get(url, params={name: BEYOND_BIGINT}, headers=headers)
            assert r.status_code == 422, (path, name, r.status_code, r.text)
            assert r.json()["error"]["message"].startswith(f"query.{name}:"), (path, r.text)
            checked += 1
    assert checked >= 20


def test_a_nul_in_any_text_query_parameter_is_refused_with_422_naming_it(app, client, target):
    checked = set()
    for path, operation in _get_operations(app):
        for name in _query_params(operation, "string"):
            url, headers = _request(path, operation, target)
            r = client.get(url, params={name: f"a{NUL}b"}, headers=headers)
            assert r.status_code == 422, (path, name, r.status_code, r.text)
            assert r.json()["error"] == {
                "code": "validation_error",
                "message": f"query.{name}: must not contain the NUL character (\\x00)",
                "details": [
                    {
                        "loc": ["query", name],
                        "msg": "must not contain the NUL character (\\x00)",
                        "type": "string_nul",
                    }
                ],
            }, (path, r.text)
            checked.add(name)
    assert {"q", "status"} <= checked  # the issue's own examples are among them


def test_a_nul_in_a_path_parameter_is_refused_with_422(client, admin):
    for url in ("/api/v1/projects/a%00b", "/api/v1/storage/files/datasets/a%00b"):
        r = client.get(url, headers=admin.headers)
        assert r.status_code == 422, (url, r.text)
        assert "must not contain the NUL character" in r.json()["error"]["message"]


def test_a_nul_anywhere_in_a_json_body_is_refused_with_422_naming_where(client, make_user):
    user = make_user()
    r = client.post("/api/v1/projects", json={"name": f"a{NUL}b"}, headers=user.headers)
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("body.name: must not contain the NUL")
    # Deep inside a free-form object (a training config, stored as jsonb), and in a key.
    for config, loc in (
        ({"tags": ["ok", f"bad{NUL}"]}, ["body", "config", "tags", 1]),
        ({f"k{NUL}": 1}, ["body", "config", "k\\x00"]),
    ):
        body = {"dataset_id": str(uuid.uuid4()), "framework": "timm", "model_name": "resnet18",
                "config": config}  # fmt: skip
        r = client.post("/api/v1/training/jobs", json=body, headers=user.headers)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["loc"] == loc, r.text
    # The text `\u0000` (an escaped backslash, then "u0000") is no NUL and is kept.
    r = client.post("/api/v1/projects", json={"name": "literal \\u0000"}, headers=user.headers)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "literal \\u0000"


def test_a_nul_in_a_form_field_or_a_file_name_is_refused_with_422(client, make_user):
    r = client.post("/api/v1/auth/login", data={"username": f"a{NUL}@example.com", "password": "x"})
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("body.username: must not contain the NUL")
    user = make_user()
    # Written by hand: HTTP clients percent-encode a NUL in a file name; a hostile one
    # need not.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\ndigits\r\n'
        b'--b\r\nContent-Disposition: form-data; name="files"; filename="a\x00.png"\r\n'
        b"Content-Type: image/png\r\n\r\nnot read\r\n--b--\r\n"
    )
    headers = {**user.headers, "Content-Type": "multipart/form-data; boundary=b"}
    # Other tests' public datasets are listed too: count what this upload adds.
    before = client.get("/api/v1/datasets", headers=user.headers).json()["total"]
    r = client.post("/api/v1/datasets", content=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"].startswith("body.files: must not contain the NUL")
    r = client.get("/api/v1/datasets", headers=user.headers)
    assert r.json()["total"] == before  # nothing was kept


def test_a_last_event_id_past_any_seq_is_no_id_and_the_stream_replays_from_the_start(client, admin):
    from api.db.models import JobStatus

    job = diagnostic_job(admin.id, heartbeats=2, status=JobStatus.COMPLETED)
    for value in (str(BEYOND_BIGINT), "9" * 40):
        headers = {**admin.headers, "Accept": "text/event-stream", "Last-Event-ID": value}
        r = client.get(f"/api/v1/jobs/{job}/events", headers=headers)
        assert r.status_code == 200
        assert [line for line in r.text.splitlines() if line.startswith("id:")] == [
            "id: 1",
            "id: 2",
        ], r.text
