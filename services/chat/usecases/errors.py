"""The errors ChatService's use cases share, worded once."""

from __future__ import annotations

from services.servicekit.errors import NotFound


def conversation_not_found(conversation_id: str) -> NotFound:
    # The same answer whether it never existed or belongs to someone else: no existence leak.
    return NotFound(
        f"conversation {conversation_id} not found",
        reason="CONVERSATION_NOT_FOUND",
        metadata={"conversation_id": conversation_id},
    )
