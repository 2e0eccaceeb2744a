"""LLM_PROVIDER=auto|gemini|openai|offline: which provider gets built, and what is logged."""

from __future__ import annotations

import logging

import pytest

from services.chat.llm.factory import build_provider
from services.servicekit.config import LlmSettings

GEMINI_KEY = "gm-factory-key-0123456789"
OPENAI_KEY = "sk-factory-key-0123456789"


@pytest.mark.parametrize(
    ("settings", "name", "model"),
    [
        pytest.param(LlmSettings("auto"), "offline", "todobot-rules", id="auto-no-keys"),
        pytest.param(
            LlmSettings("auto", gemini_api_key=GEMINI_KEY, openai_api_key=OPENAI_KEY),
            "gemini", "gemini-2.5-flash", id="auto-prefers-gemini",
        ),
        pytest.param(
            LlmSettings("auto", openai_api_key=OPENAI_KEY, openai_model="gpt-x"),
            "openai", "gpt-x", id="auto-openai-key",
        ),
        pytest.param(
            LlmSettings("openai", openai_base_url="http://127.0.0.1:9/v1", openai_model="llama3"),
            "openai", "llama3", id="openai-keyless-local-server",
        ),
        pytest.param(
            LlmSettings("offline", gemini_api_key=GEMINI_KEY), "offline", "todobot-rules",
            id="offline-despite-key",
        ),
        pytest.param(
            LlmSettings("gemini", gemini_api_key=GEMINI_KEY, gemini_model="gemini-x"),
            "gemini", "gemini-x", id="gemini",
        ),
    ],
)  # fmt: skip
async def test_builds_the_chosen_provider_and_logs_it_without_keys(
    settings: LlmSettings, name: str, model: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="services.chat.llm.factory"):
        provider = build_provider(settings)
    try:
        assert provider.name == name
        assert f"LLM provider {name}, model {model}" in caplog.text
        assert GEMINI_KEY not in caplog.text
        assert OPENAI_KEY not in caplog.text
    finally:
        await provider.aclose()


def test_gemini_without_a_key_is_refused() -> None:
    with pytest.raises(ValueError, match="GEMINI_API_KEY"):
        build_provider(LlmSettings("gemini"))
