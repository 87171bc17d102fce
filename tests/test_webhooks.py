# ruff: noqa: E501  (request bodies read better on one line)
"""User webhooks: signed deliveries of job and dataset events to a real HTTP receiver on
loopback, retried with backoff, logged, and never aimed inside the network by default."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from api.db.models import JobKind, JobStatus, WebhookDelivery
from api.db.session import new_session
from api.services import webhooks
from api.services.jobs import tokens
from api.settings import get_settings
from tests.jobs import diagnostic_job
from tests.webhook_sender import deliver_due, drain


class Receiver:
    """An HTTP server that records every POST and answers the next status in line."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses = statuses or []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(outer.statuses.pop(0) if outer.statuses else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture()
def receiver():  # type: ignore[no-untyped-def]
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture(autouse=True)
def _nothing_else_due() -> None:
    drain()


@pytest.fixture()
def owner(make_user):  # type: ignore[no-untyped-def]
    return make_user("engineer_i")


def _finish_a_job(client, owner) -> uuid.UUID:  # type: ignore[no-untyped-def]
    job_id = diagnostic_job(owner.id, status=JobStatus.RUNNING)
    token = tokens.create(get_settings(), job_id, JobKind.DIAGNOSTIC, 1, 600)
    r = client.post(
        f"/api/v1/jobs/{job_id}/done",
        json={"attempt": 1, "seq": 1, "status": "completed"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.json()["applied"]
    return job_id


def test_a_finished_job_is_posted_signed_to_the_users_webhook(client, owner, receiver):
    r = client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "event_types": ["job.completed"]},
        headers=owner.headers,
    )
    assert r.status_code == 201
    hook = r.json()
    secret = hook["secret"]
    assert secret.startswith("whsec_")
    assert (
        "secret" not in client.get(f"/api/v1/webhooks/{hook['id']}", headers=owner.headers).json()
    )

    job_id = _finish_a_job(client, owner)
    assert deliver_due() == 1
    ((headers, body),) = receiver.requests
    assert headers["x-vap-event"] == "job.completed"
    assert headers["x-vap-signature"] == webhooks.sign(secret, headers["x-vap-timestamp"], body)
    payload = json.loads(body)
    assert payload["type"] == "job.completed" and payload["data"]["job_id"] == str(job_id)
    assert payload["id"] == headers["x-vap-delivery"]
    log = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=owner.headers).json()
    assert log["items"][0]["status"] == "succeeded" and log["items"][0]["last_status_code"] == 200


def test_a_failing_receiver_is_retried_with_backoff_then_succeeds(client, owner):
    receiver = Receiver(statuses=[500])
    hook = client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "event_types": ["*"]}, headers=owner.headers
    ).json()
    _finish_a_job(client, owner)
    deliver_due()
    with new_session() as db:
        delivery = db.query(WebhookDelivery).filter_by(webhook_id=uuid.UUID(hook["id"])).one()
        assert (
            delivery.status == "pending"
            and delivery.attempts == 1
            and delivery.last_status_code == 500
        )
        wait = (delivery.next_attempt_at - datetime.now(UTC)).total_seconds()
        assert 5 < wait <= 10
        assert deliver_due() == 0  # not due yet
        delivery.next_attempt_at = datetime.now(UTC)  # time passes
        db.commit()
    assert deliver_due() == 1
    log = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=owner.headers).json()[
        "items"
    ]
    assert log[0]["status"] == "succeeded" and log[0]["attempts"] == 2
    assert len(receiver.requests) == 2
    # Both attempts carry the same delivery id: receivers can de-duplicate.
    assert receiver.requests[0][0]["x-vap-delivery"] == receiver.requests[1][0]["x-vap-delivery"]
    receiver.server.shutdown()


def test_only_subscribed_events_of_active_webhooks_are_sent(client, owner, receiver):
    client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "event_types": ["dataset.ready"]},
        headers=owner.headers,
    )
    off = client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "event_types": ["*"]}, headers=owner.headers
    ).json()
    client.patch(f"/api/v1/webhooks/{off['id']}", json={"is_active": False}, headers=owner.headers)
    _finish_a_job(client, owner)
    assert deliver_due() == 0 and receiver.requests == []


def test_ping_checks_a_receiver(client, owner, receiver):
    hook = client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "event_types": ["job.failed"]},
        headers=owner.headers,
    ).json()
    assert (
        client.post(f"/api/v1/webhooks/{hook['id']}/ping", headers=owner.headers).status_code == 202
    )
    deliver_due()
    assert receiver.requests[0][0]["x-vap-event"] == "ping"


def test_webhooks_cannot_target_the_inside_of_the_network_by_default(app, client, owner):
    strict = get_settings().model_copy(update={"webhook_allow_private_urls": False})
    from api.deps import current_settings

    app.dependency_overrides[current_settings] = lambda: strict
    try:
        for url in (
            "http://127.0.0.1:8000/x",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.5/",
            "ftp://example.com/",
        ):
            r = client.post(
                "/api/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=owner.headers
            )
            assert r.status_code in (400, 422), url
            assert r.json()["error"]["code"] in ("bad_webhook_url", "validation_error")
    finally:
        app.dependency_overrides.pop(current_settings)
