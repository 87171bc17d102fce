"""Chat to a training configuration."""

from __future__ import annotations

from typing import Any

from vap_client.models import ChatReply, Page
from vap_client.transport import Transport


class ChatAPI(Transport):
    def chat(self, message: str, conversation_id: str | None = None) -> ChatReply:
        """Send a message; the reply is a ready training config (`status` complete) or
        questions. Pass the answer's `conversation_id` to go on."""
        return self.post_as(
            ChatReply,
            "/api/v1/chat/message",
            {"message": message, "conversation_id": conversation_id},
        )

    def list_conversations(self, *, limit: int = 50, offset: int = 0) -> Page[dict[str, Any]]:
        return self.page_of(dict, "/api/v1/chat/conversations", limit=limit, offset=offset)

    def get_conversation(self, conversation_id: str) -> dict[str, Any]:
        return self.get_as(dict, f"/api/v1/chat/conversations/{conversation_id}")

    def delete_conversation(self, conversation_id: str) -> None:
        self.delete(f"/api/v1/chat/conversations/{conversation_id}")
