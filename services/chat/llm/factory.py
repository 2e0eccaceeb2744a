"""Chooses the model behind the agent from settings: LLM_PROVIDER=auto|gemini|openai|offline."""

from __future__ import annotations

import logging

from services.chat.llm.base import LlmProvider
from services.chat.llm.offline import OfflineProvider
from services.servicekit.config import LlmSettings

_log = logging.getLogger(__name__)


def choose(settings: LlmSettings) -> str:
    """The provider `auto` stands for: Gemini with a Gemini key, else OpenAI with an OpenAI
    key (or a base URL, for keyless local servers when asked for explicitly), else offline."""
    if settings.provider != "auto":
        return settings.provider
    if settings.gemini_api_key:
        return "gemini"
    if settings.openai_api_key:
        return "openai"
    return "offline"


def build_provider(settings: LlmSettings) -> LlmProvider:
    """Builds the configured provider and logs which one (and which model), never a key."""
    chosen = choose(settings)
    provider: LlmProvider
    # Each SDK is imported only when chosen: google-genai and openai take seconds of CPU
    # to import, which a replica would pay on every (re)start, even with another model.
    if chosen == "gemini":
        if not settings.gemini_api_key:
            raise ValueError("LLM_PROVIDER=gemini needs GEMINI_API_KEY")
        from services.chat.llm.gemini import GeminiProvider

        provider = GeminiProvider(
            api_key=settings.gemini_api_key,
            model=settings.gemini_model,
            base_url=settings.gemini_base_url,
            timeout_seconds=settings.timeout_seconds,
        )
        model = settings.gemini_model
    elif chosen == "openai":
        from services.chat.llm.openai import OpenAIProvider

        provider = OpenAIProvider(
            api_key=settings.openai_api_key,
            model=settings.openai_model,
            base_url=settings.openai_base_url,
            timeout_seconds=settings.timeout_seconds,
        )
        model = settings.openai_model
    elif chosen == "offline":
        provider = OfflineProvider()
        model = OfflineProvider.model
    else:
        raise ValueError(f"unknown LLM provider {chosen!r}")
    _log.info(
        "LLM provider %s, model %s (LLM_PROVIDER=%s)",
        chosen,
        model,
        settings.provider,
        extra={"llm_provider": chosen, "llm_model": model},
    )
    return provider
