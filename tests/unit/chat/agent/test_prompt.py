"""The system prompt: the built-in TodoBot instructions or the operator's, always dated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.chat.agent.prompt import DEFAULT_SYSTEM_PROMPT, build_system_prompt

NOW = datetime(2026, 3, 11, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize("configured", [None, "", "   "], ids=["unset", "empty", "blank"])
def test_the_default_prompt_when_none_is_configured(configured: str | None) -> None:
    prompt = build_system_prompt(configured, NOW)

    assert prompt.startswith(DEFAULT_SYSTEM_PROMPT)
    assert prompt.endswith("Today is Wednesday, 2026-03-11; the time is 10:30 UTC.")


def test_an_operator_prompt_replaces_the_default_and_still_gets_the_date() -> None:
    prompt = build_system_prompt("You are a terse assistant.", NOW)

    assert prompt.startswith("You are a terse assistant.\n\nToday is Wednesday")
    assert DEFAULT_SYSTEM_PROMPT not in prompt


def test_the_date_is_given_in_utc() -> None:
    late_in_new_york = datetime(2026, 3, 11, 22, 0, tzinfo=timezone(timedelta(hours=-5)))

    assert "Today is Thursday, 2026-03-12; the time is 03:00 UTC." in build_system_prompt(
        None, late_in_new_york
    )


def test_the_default_prompt_covers_the_rules_that_keep_users_safe() -> None:
    for rule in ("own task list", "Never invent", "call list_tasks first", "ask which"):
        assert rule in DEFAULT_SYSTEM_PROMPT
