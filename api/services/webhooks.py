"""User webhooks: signed POSTs of job and dataset events to the user's URLs.

Deliveries are written in the same transaction as the change they report (an
outbox: none is lost with a crash), then sent by `deliver_due`, which `vap serve`
runs every few seconds, `vap reconcile` on each pass, and the scheduled Lambda.
Each POST is signed: `X-VAP-Signature: sha256=HMAC(secret, "{timestamp}.{body}")`;
a failed one is retried with exponential backoff, then marked failed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import User, Webhook, WebhookDelivery
from api.db.models.jobs import DispatchedJob
from api.errors import BadRequest
from api.schemas.common import Page, PageParams
from api.schemas.webhooks import DeliveryRead, WebhookCreate, WebhookUpdate
from api.services import ownership
from api.services.pagination import paginate
from api.settings import Settings

MAX_ATTEMPTS = 8
_BASE_DELAY = 10  # seconds; then 20, 40, ... capped at an hour
_TIMEOUT = 10.0


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _check_url(settings: Settings, url: str) -> None:
    """BadRequest for a URL that is not http(s), or (unless allowed) that points at a
    private, loopback or link-local address: webhooks must not reach inside the network."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(
            "A webhook URL must be http:// or https:// with a host", code="bad_webhook_url"
        )
    if settings.webhook_allow_private_urls:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        raise BadRequest(f"Cannot resolve {parts.hostname!r}", code="bad_webhook_url") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise BadRequest(
                f"{parts.hostname!r} resolves to a non-public address", code="bad_webhook_url"
            )


def create(db: Session, settings: Settings, user: User, data: WebhookCreate) -> tuple[Webhook, str]:
    _check_url(settings, str(data.url))
    secret = "whsec_" + secrets.token_urlsafe(32)
    hook = Webhook(
        user_id=user.id, url=str(data.url), event_types=data.event_types, secret=secret,
        description=data.description,
    )  # fmt: skip
    db.add(hook)
    db.commit()
    return hook, secret


def update(
    db: Session, settings: Settings, user: User, webhook_id: uuid.UUID, data: WebhookUpdate
) -> Webhook:
    hook = ownership.get_for_write(db, Webhook, webhook_id, user)
    changes = data.model_dump(exclude_unset=True)
    if "url" in changes:
        changes["url"] = str(changes["url"])
        _check_url(settings, changes["url"])
    for field, value in changes.items():
        setattr(hook, field, value)
    db.commit()
    return hook


def deliveries(
    db: Session, user: User, webhook_id: uuid.UUID, page: PageParams
) -> Page[DeliveryRead]:
    hook = ownership.get_for_read(db, Webhook, webhook_id, user)
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
    return paginate(
        db, query, page, DeliveryRead, WebhookDelivery.created_at.desc(), WebhookDelivery.id
    )


def enqueue(db: Session, user_id: uuid.UUID, event_type: str, payload: dict[str, Any]) -> int:
    """Queue `event_type` for every active webhook of the user subscribed to it, in the
    caller's transaction. Returns how many deliveries were queued."""
    hooks = db.scalars(
        select(Webhook).where(Webhook.user_id == user_id, Webhook.is_active.is_(True))
    )
    now = datetime.now(UTC)
    queued = 0
    for hook in hooks:
        if event_type in hook.event_types or "*" in hook.event_types or event_type == "ping":
            db.add(
                WebhookDelivery(
                    webhook_id=hook.id, event_type=event_type, event_id=f"evt_{uuid.uuid4().hex}",
                    payload=payload, next_attempt_at=now,
                )
            )  # fmt: skip
            queued += 1
    return queued


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(_BASE_DELAY * 2 ** (attempts - 1), 3600))


def deliver_due(db: Session, settings: Settings, limit: int = 50) -> int:
    """Send the deliveries that are due; return how many were attempted."""
    now = datetime.now(UTC)
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # replicas share the queue
    due = list(db.scalars(query))
    if not due:  # the usual pass: a client costs ~30 ms of CPU (its TLS context)
        return 0
    import httpx

    with httpx.Client(timeout=_TIMEOUT, follow_redirects=False) as http:
        for delivery in due:
            _attempt(db, settings, http, delivery)
    db.commit()
    return len(due)


def _attempt(db: Session, settings: Settings, http: Any, delivery: WebhookDelivery) -> None:
    hook = db.get(Webhook, delivery.webhook_id)
    assert hook is not None
    envelope = {
        "id": delivery.event_id,
        "type": delivery.event_type,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    body = json.dumps(envelope, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "vision-ai-platform-webhooks/1",
        "X-VAP-Event": delivery.event_type,
        "X-VAP-Delivery": delivery.event_id,
        "X-VAP-Timestamp": timestamp,
        "X-VAP-Signature": sign(hook.secret, timestamp, body),
    }
    delivery.attempts += 1
    started = time.perf_counter()
    try:
        _check_url(settings, hook.url)  # again: DNS may point elsewhere now
        r = http.post(hook.url, content=body, headers=headers)
        delivery.last_status_code, delivery.last_error = r.status_code, None
        ok = 200 <= r.status_code < 300
        if not ok:
            delivery.last_error = f"HTTP {r.status_code}: {r.text[:500]}"
    except Exception as exc:  # unreachable, timeout, refused URL
        delivery.last_status_code, delivery.last_error, ok = (
            None,
            f"{type(exc).__name__}: {exc}"[:1000],
            False,
        )
    delivery.last_response_ms = round((time.perf_counter() - started) * 1000, 1)
    now = datetime.now(UTC)
    if ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "succeeded", now, None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = "failed", None
    else:
        delivery.next_attempt_at = now + _backoff(delivery.attempts)


def ping(db: Session, user: User, webhook_id: uuid.UUID) -> WebhookDelivery:
    hook = ownership.get_for_write(db, Webhook, webhook_id, user)
    delivery = WebhookDelivery(
        webhook_id=hook.id, event_type="ping", event_id=f"evt_{uuid.uuid4().hex}",
        payload={"webhook_id": str(hook.id)}, next_attempt_at=datetime.now(UTC),
    )  # fmt: skip
    db.add(delivery)
    db.commit()
    return delivery


def job_ended(db: Session, job: DispatchedJob) -> None:
    """Queue job.completed / job.failed / job.cancelled for the job's owner."""
    from api.services.jobs.kinds import kind_of

    enqueue(
        db,
        job.user_id,
        f"job.{job.status.value}",
        {
            "job_id": str(job.id),
            "kind": kind_of(job).value,
            "status": job.status.value,
            "attempt": job.attempt,
            "error": job.error_message,
        },
    )
