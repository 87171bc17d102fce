"""Accounts (register, log in, who am I) and webhooks."""

from __future__ import annotations

from typing import Any

from vap_client.models import Delivery, Page, Token, User, Webhook
from vap_client.transport import Transport, drop_none


class AccountsAPI(Transport):
    def register(self, email: str, password: str, **profile: Any) -> User:
        """Create an account (the first of an installation becomes its admin).
        Conflict (code `email_taken`) when the email is in use."""
        return self.post_as(
            User, "/api/v1/auth/register", {"email": email, "password": password, **profile}
        )

    def login(self, email: str, password: str) -> Token:
        """Log in; later calls of this client carry the token."""
        r = self.request(
            "POST", "/api/v1/auth/login", data={"username": email, "password": password}
        )
        token = Token.model_validate(r.json())
        self.token = token.access_token
        return token

    def me(self) -> User:
        return self.get_as(User, "/api/v1/auth/me")

    # --- webhooks ---------------------------------------------------------------------

    def create_webhook(
        self, url: str, event_types: list[str], description: str | None = None
    ) -> Webhook:
        """Register a receiver; the answer's `secret` (shown once) signs every delivery."""
        body = drop_none(url=url, event_types=event_types, description=description)
        return self.post_as(Webhook, "/api/v1/webhooks", body)

    def list_webhooks(self, *, limit: int = 50, offset: int = 0) -> Page[Webhook]:
        return self.page_of(Webhook, "/api/v1/webhooks", limit=limit, offset=offset)

    def get_webhook(self, webhook_id: str) -> Webhook:
        return self.get_as(Webhook, f"/api/v1/webhooks/{webhook_id}")

    def update_webhook(self, webhook_id: str, **changes: Any) -> Webhook:
        r = self.request("PATCH", f"/api/v1/webhooks/{webhook_id}", json=changes)
        return Webhook.model_validate(r.json())

    def delete_webhook(self, webhook_id: str) -> None:
        self.delete(f"/api/v1/webhooks/{webhook_id}")

    def webhook_deliveries(
        self, webhook_id: str, *, limit: int = 50, offset: int = 0
    ) -> Page[Delivery]:
        return self.page_of(
            Delivery, f"/api/v1/webhooks/{webhook_id}/deliveries", limit=limit, offset=offset
        )

    def ping_webhook(self, webhook_id: str) -> Delivery:
        return self.post_as(Delivery, f"/api/v1/webhooks/{webhook_id}/ping")
