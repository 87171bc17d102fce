# ruff: noqa: E501  (the event shapes are kept one field group a line, as AWS documents them)
"""The API under AWS Lambda through Mangum, fed the real event shapes of API Gateway
HTTP APIs (v2), REST APIs (v1) and Function URLs."""

from __future__ import annotations

import base64
import json
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from tests.jobs import diagnostic_job

CONTEXT = SimpleNamespace(function_name="vap-api", aws_request_id="req-1", memory_limit_in_mb=1024)


def http_api_v2(
    method: str,
    path: str,
    body: str | None = None,
    headers: dict | None = None,
    query: str = "",
    url_domain: str = "abc123.execute-api.eu-west-1.amazonaws.com",
) -> dict[str, Any]:
    h = {"host": url_domain, "user-agent": "pytest", **(headers or {})}
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": h, "isBase64Encoded": False, "body": body,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123", "domainName": url_domain, "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "pytest"},
            "requestId": "r-1", "routeKey": "$default", "stage": "$default", "time": "23/Nov/2026:12:00:00 +0000", "timeEpoch": 1795435200000,
        },
    }  # fmt: skip


def rest_api_v1(
    method: str, path: str, body: str | None = None, headers: dict | None = None
) -> dict[str, Any]:
    h = {
        "Host": "abc123.execute-api.eu-west-1.amazonaws.com",
        "User-Agent": "pytest",
        **(headers or {}),
    }
    return {
        "resource": "/{proxy+}", "path": path, "httpMethod": method, "headers": h,
        "multiValueHeaders": {k: [v] for k, v in h.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")}, "stageVariables": None, "body": body, "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": "/{proxy+}", "httpMethod": method, "path": f"/prod{path}", "stage": "prod",
            "identity": {"sourceIp": "203.0.113.9", "userAgent": "pytest"}, "requestId": "r-1",
            "accountId": "123456789012", "apiId": "abc123", "protocol": "HTTP/1.1",
        },
    }  # fmt: skip


@pytest.fixture()
def handler(app, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "vap-api")
    from api.lambda_handler import handler

    return handler


def _body(response: dict[str, Any]) -> Any:
    raw = response["body"]
    if response.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    return json.loads(raw)


@pytest.mark.parametrize("shape", ["http_api_v2", "rest_api_v1", "function_url"])
def test_health_answers_through_every_event_shape(handler, shape):
    event = {
        "http_api_v2": lambda: http_api_v2("GET", "/health"),
        "rest_api_v1": lambda: rest_api_v1("GET", "/health"),
        "function_url": lambda: http_api_v2(
            "GET", "/health", url_domain="abcdefg.lambda-url.eu-west-1.on.aws"
        ),
    }[shape]()
    response = handler(event, CONTEXT)
    assert response["statusCode"] == 200
    assert _body(response)["status"] == "ok"


def test_register_login_and_errors_keep_their_shape_under_lambda(handler):
    email = f"lambda-{uuid.uuid4().hex[:8]}@example.com"
    body = json.dumps({"email": email, "password": "lambda password"})
    r = handler(
        http_api_v2("POST", "/api/v1/auth/register", body, {"content-type": "application/json"}),
        CONTEXT,
    )
    assert r["statusCode"] == 201 and _body(r)["email"] == email
    r = handler(
        rest_api_v1("POST", "/api/v1/auth/register", body, {"Content-Type": "application/json"}),
        CONTEXT,
    )
    assert r["statusCode"] == 409 and _body(r)["error"]["code"] == "email_taken"
    r = handler(http_api_v2("GET", "/api/v1/projects"), CONTEXT)
    assert r["statusCode"] == 401 and _body(r)["error"]["code"] == "not_authenticated"


def test_an_event_stream_under_lambda_is_a_complete_catch_up(handler, make_user):
    from api.db.models import JobStatus

    owner = make_user("engineer_i")
    job_id = diagnostic_job(owner.id, heartbeats=3, status=JobStatus.RUNNING)
    headers = {
        "accept": "text/event-stream",
        "last-event-id": "1",
        **{k.lower(): v for k, v in owner.headers.items()},
    }
    r = handler(http_api_v2("GET", f"/api/v1/jobs/{job_id}/events", headers=headers), CONTEXT)
    assert r["statusCode"] == 200
    text = base64.b64decode(r["body"]).decode() if r.get("isBase64Encoded") else r["body"]
    ids = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("id:")]
    assert ids == ["2", "3"] and "retry: 2000" in text


def test_an_endpoint_call_under_lambda_is_metered_before_the_invocation_returns(
    handler, client, make_user
):
    """A frozen Lambda runs no writer thread: the call's usage record is in the database
    when the handler returns, nothing flushed."""
    from sqlalchemy import func, select

    from api.db.models import UsageRecord
    from api.db.session import new_session
    from tests.test_endpoint import _png, deploy

    endpoint = deploy(client, make_user("engineer_i"))
    body = json.dumps({"image": base64.b64encode(_png()).decode()})
    headers = {"content-type": "application/json", "authorization": f"Bearer {endpoint.key}"}
    r = handler(http_api_v2("POST", endpoint.url, body, headers), CONTEXT)
    assert r["statusCode"] == 200 and _body(r)["task_type"] == "image_classification"
    with new_session() as db:
        count = db.scalar(
            select(func.count())
            .select_from(UsageRecord)
            .where(UsageRecord.deployment_id == uuid.UUID(endpoint.id))
        )
    assert count == 1


def test_the_scheduled_reconciler_fails_a_silent_job(make_user):
    from datetime import UTC, datetime, timedelta

    from api.db.models import JobStatus
    from api.lambda_handler import reconcile_handler

    owner = make_user("engineer_i")
    silent = datetime.now(UTC) - timedelta(hours=2)
    job_id = diagnostic_job(
        owner.id, status=JobStatus.RUNNING, max_attempts=1, last_heartbeat_at=silent
    )
    scheduled = {"version": "0", "id": "e-1", "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": "123456789012", "time": "2026-11-23T12:00:00Z", "region": "eu-west-1",
                 "resources": ["arn:aws:events:eu-west-1:123456789012:rule/vap-reconcile"], "detail": {}}  # fmt: skip
    result = reconcile_handler(scheduled, CONTEXT)
    assert str(job_id) in result["failed"]
