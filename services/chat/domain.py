"""Chat as the use cases see it: frozen values, no ORM rows, no protobuf."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

CONTENT_MAX = 5000
CONTEXT_MAX = 5000
TITLE_MAX = 80
PREVIEW_MAX = 200
CONVERSATIONS_PAGE_DEFAULT = 20
CONVERSATIONS_PAGE_MAX = 100
MESSAGES_PAGE_DEFAULT = 100
MESSAGES_PAGE_MAX = 500
OFFSET_MAX = 10_000
# GetConversation returns at most this many of the newest messages (see the proto).
CONVERSATION_MESSAGES_MAX = 500


class Role(enum.Enum):
    USER = "user"
    ASSISTANT = "assistant"


class TurnStatus(enum.Enum):
    RUNNING = "running"
    FAILED = "failed"
    DONE = "done"


@dataclass(frozen=True)
class ToolCallRecord:
    """A tool call TodoBot made, as stored with the assistant message and returned."""

    name: str
    arguments: dict[str, Any]
    result: Any
    ok: bool


@dataclass(frozen=True)
class Message:
    id: str
    conversation_id: str
    role: Role
    content: str
    tool_calls: tuple[ToolCallRecord, ...]
    created_at: datetime
    # 1, 2, 3 … within the conversation: the order, independent of replicas' clocks.
    position: int


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    last_message: str
    created_at: datetime
    updated_at: datetime
    message_count: int


@dataclass(frozen=True)
class ConversationDetail:
    conversation: Conversation
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class TurnRequest:
    """A validated Chat/StreamChat request."""

    content: str
    conversation_id: str | None = None
    context: str | None = None
    request_id: str = ""


@dataclass(frozen=True)
class ChatAnswer:
    """The outcome of a turn: the stored assistant message and where it lives."""

    conversation_id: str
    message_id: str
    content: str
    created_at: datetime
    tool_calls: tuple[ToolCallRecord, ...]
    request_id: str = ""


@dataclass(frozen=True)
class TurnRecord:
    """The idempotency record of a turn, keyed by (user, request_id)."""

    request_id: str
    status: TurnStatus
    fingerprint: str
    conversation_id: str
    user_message_id: str
    started_at: datetime
    attempts: int
    answer: ChatAnswer | None


@dataclass(frozen=True)
class PageRequest:
    limit: int
    offset: int


@dataclass(frozen=True)
class Deadline:
    """An absolute point on the monotonic clock by which the turn must be done."""

    at: float

    @classmethod
    def within(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()


def title_from(content: str) -> str:
    """A conversation's title: its first message on one line, shortened."""
    line = " ".join(content.strip().split())
    return line if len(line) <= TITLE_MAX else line[: TITLE_MAX - 1].rstrip() + "…"


def preview_of(content: str) -> str:
    text = " ".join(content.split())
    return text if len(text) <= PREVIEW_MAX else text[: PREVIEW_MAX - 1].rstrip() + "…"
