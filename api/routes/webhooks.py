"""A user's webhooks: where job and dataset events are POSTed, signed, and the log of
every delivery."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from api.db.models import Webhook
from api.deps import CurrentUser, SessionDep, SettingsDep
from api.schemas.common import Page, PageParams
from api.schemas.webhooks import (
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)
from api.services import ownership, webhooks
from api.services.pagination import paginate

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


@router.post("", response_model=WebhookCreated, status_code=status.HTTP_201_CREATED)
def create_webhook(
    data: WebhookCreate, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> WebhookCreated:
    """Register a URL; the answer holds the signing secret, shown this once."""
    hook, secret = webhooks.create(db, settings, user, data)
    return WebhookCreated.model_validate(
        {**WebhookRead.model_validate(hook).model_dump(), "secret": secret}
    )


@router.get("", response_model=Page[WebhookRead])
def list_webhooks(
    user: CurrentUser, db: SessionDep, page: Annotated[PageParams, Depends()]
) -> object:
    model = Webhook
    return paginate(
        db, ownership.visible_to(user, model), page, WebhookRead, model.created_at.desc(), model.id
    )


@router.get("/{webhook_id}", response_model=WebhookRead)
def get_webhook(webhook_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> object:
    return ownership.get_for_read(db, Webhook, webhook_id, user)


@router.patch("/{webhook_id}", response_model=WebhookRead)
def update_webhook(
    webhook_id: uuid.UUID,
    data: WebhookUpdate,
    user: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
) -> object:
    return webhooks.update(db, settings, user, webhook_id, data)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(webhook_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> Response:
    db.delete(ownership.get_for_write(db, Webhook, webhook_id, user))
    db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryRead])
def list_deliveries(
    webhook_id: uuid.UUID, user: CurrentUser, db: SessionDep, page: Annotated[PageParams, Depends()]
) -> object:
    """Every delivery, newest first: status, attempts, the last answer or error."""
    return webhooks.deliveries(db, user, webhook_id, page)


@router.post(
    "/{webhook_id}/ping", response_model=DeliveryRead, status_code=status.HTTP_202_ACCEPTED
)
def ping_webhook(webhook_id: uuid.UUID, user: CurrentUser, db: SessionDep) -> object:
    """Queue a `ping` delivery, to check the receiver and its signature check."""
    return webhooks.ping(db, user, webhook_id)
