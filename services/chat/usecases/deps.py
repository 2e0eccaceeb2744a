"""What ChatService's use cases need, built once by the app and passed down."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from services.chat.agent.loop import AgentObserver
from services.chat.llm.base import LlmProvider, ToolSpec
from services.chat.tasks_client import TasksClient
from services.servicekit.database import SessionFactory


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class TurnLimits:
    history_limit: int = 20
    max_tool_steps: int = 5
    rate_limit_per_minute: int = 10  # 0 turns the limit off
    turn_timeout_seconds: float = 60.0
    llm_timeout_seconds: float = 30.0
    # A running turn renews its claim every half of this (so a typical turn, answered
    # sooner, never renews); a claim not renewed for this long belongs to a dead process,
    # and a retry may take the turn over.
    claim_lease_seconds: float = 4.0


@dataclass(frozen=True)
class ChatDeps:
    sessions: SessionFactory
    # Bound to an autocommit engine: a lone SELECT needs no BEGIN/COMMIT round trips.
    read_sessions: SessionFactory
    provider: LlmProvider
    tasks: TasksClient
    tools: tuple[ToolSpec, ...]
    limits: TurnLimits
    system_prompt: str | None = None
    observer: AgentObserver | None = None
    clock: Callable[[], datetime] = _utcnow
    new_id: Callable[[], str] = _new_id
