"""Building the remote providers against the fake servers, shared by their test modules."""

from __future__ import annotations

from typing import Any

from services.chat.agent.tools import task_tools
from services.chat.llm.base import HistoryMessage, TurnInput
from services.chat.llm.gemini import GeminiProvider
from services.chat.llm.openai import OpenAIProvider

GEMINI_KEY = "gm-test-key-0123456789"
GEMINI_MODEL = "gemini-test-flash"
OPENAI_KEY = "sk-test-0123456789abcdef"
OPENAI_MODEL = "gpt-test-mini"
SYSTEM = "You are TodoBot. Today is Monday."


def turn(*messages: tuple[str, str], context: str | None = None) -> TurnInput:
    history = [HistoryMessage(role, text) for role, text in messages]  # type: ignore[arg-type]
    return TurnInput(system_prompt=SYSTEM, history=history, tools=task_tools(), context=context)


def gemini_provider(origin: str, **overrides: Any) -> GeminiProvider:
    """Small timeouts and retry delays, so failure tests stay fast."""
    options: dict[str, Any] = {
        "api_key": GEMINI_KEY,
        "model": GEMINI_MODEL,
        "base_url": origin,
        "timeout_seconds": 2.0,
        "retry_initial_delay": 0.01,
        "retry_max_delay": 0.02,
    }
    options.update(overrides)
    return GeminiProvider(**options)


def openai_provider(base_url: str, **overrides: Any) -> OpenAIProvider:
    """No SDK retries unless a test asks: the SDK's backoff starts at half a second."""
    options: dict[str, Any] = {
        "api_key": OPENAI_KEY,
        "model": OPENAI_MODEL,
        "base_url": base_url,
        "timeout_seconds": 2.0,
        "max_retries": 0,
    }
    options.update(overrides)
    return OpenAIProvider(**options)
