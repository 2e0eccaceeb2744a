"""The one interface between the agent loop and any model.

The loop never sees a provider's wire format: a provider opens a `ModelSession`
holding its own native transcript (Gemini `Content` with thought signatures, OpenAI
message dicts, the offline agent's parse state), and the loop only asks for the next
step and hands back tool outcomes.

Providers raise servicekit domain errors for failures, so the mapping to gRPC codes
stays in servicekit/status.py:
  quota / 429            -> ResourceExhausted(retry_after_seconds=...)
  5xx, connection errors -> Unavailable
  timeouts               -> DeadlineExceeded
  bad key, unknown model -> FailedPrecondition (an operator problem, not the caller's)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

TextSink = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class ToolSpec:
    """A tool declared to the model: name, description and JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class HistoryMessage:
    """A stored message given to the model as context, oldest first."""

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class ToolCallRequest:
    """A function call the model asked for. `id` is the provider's call id, or synthesized."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ToolOutcome:
    """What running a tool produced; `result` is JSON-compatible."""

    call: ToolCallRequest
    result: Any
    ok: bool


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True)
class ModelStep:
    """One model response: text, tool calls, or both."""

    text: str = ""
    tool_calls: tuple[ToolCallRequest, ...] = ()
    usage: Usage | None = None


@dataclass(frozen=True)
class TurnInput:
    """Everything the model is given for one turn."""

    system_prompt: str
    history: Sequence[HistoryMessage]  # ends with the new user message
    tools: Sequence[ToolSpec]
    context: str | None = None  # text the user selected in the UI, this turn only
    metadata: dict[str, str] = field(default_factory=dict)


class ModelSession(Protocol):
    """The provider's native transcript for one turn."""

    async def next_step(
        self, *, timeout_seconds: float, on_text: TextSink | None = None
    ) -> ModelStep:
        """Asks the model for its next step. With `on_text`, streams text deltas into it."""
        ...

    def add_tool_outcomes(self, outcomes: Sequence[ToolOutcome]) -> None:
        """Appends the results of the previous step's tool calls to the transcript."""
        ...


class LlmProvider(Protocol):
    """A model behind the agent loop."""

    name: str  # "gemini", "openai", "offline": for logs and metrics

    def open_session(self, turn: TurnInput) -> ModelSession: ...

    async def aclose(self) -> None: ...
