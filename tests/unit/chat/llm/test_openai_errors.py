"""OpenAIProvider failures through the real openai SDK: every HTTP, transport and
mid-stream failure becomes the servicekit error the design's table names."""

from __future__ import annotations

import time
from typing import Any

import pytest

from services.chat.llm.openai import OpenAIProvider
from services.servicekit.errors import (
    DeadlineExceeded,
    DomainError,
    FailedPrecondition,
    ResourceExhausted,
    Unavailable,
)
from tests.fakes.openai_server import OpenAIFake, StallReply, error, error_event, stream
from tests.unit.chat.llm.providers import OPENAI_KEY, openai_provider, turn


@pytest.mark.parametrize(
    ("reply", "expected", "reason", "retry_after"),
    [
        pytest.param(
            error(429, "slow down", code="rate_limit_exceeded", headers={"retry-after-ms": "2500"}),
            ResourceExhausted,
            "LLM_QUOTA_EXHAUSTED",
            2.5,
            id="429-retry-after-ms",
        ),
        pytest.param(
            error(429, "You exceeded your current quota", code="insufficient_quota"),
            ResourceExhausted,
            "LLM_QUOTA_EXHAUSTED",
            10.0,
            id="429-default-delay",
        ),
        pytest.param(
            error(503, "overloaded", type_="server_error"),
            Unavailable,
            "LLM_UNAVAILABLE",
            None,
            id="503",
        ),
        pytest.param(
            error(500, "boom", type_="server_error"),
            Unavailable,
            "LLM_UNAVAILABLE",
            None,
            id="500",
        ),
        pytest.param(
            error(401, f"Incorrect API key provided: {OPENAI_KEY}", code="invalid_api_key"),
            FailedPrecondition,
            "LLM_MISCONFIGURED",
            None,
            id="bad-key",
        ),
        pytest.param(
            error(404, "The model `gpt-test-mini` does not exist", code="model_not_found"),
            FailedPrecondition,
            "LLM_MISCONFIGURED",
            None,
            id="unknown-model",
        ),
        pytest.param(
            error(400, "Invalid schema for function 'add_task'"),
            FailedPrecondition,
            "LLM_MISCONFIGURED",
            None,
            id="other-400",
        ),
    ],
)
async def test_http_errors_map_to_domain_errors(
    openai_server: OpenAIFake,
    openai: OpenAIProvider,
    reply: Any,
    expected: type[DomainError],
    reason: str,
    retry_after: float | None,
) -> None:
    openai_server.reply(reply)

    with pytest.raises(expected) as caught:
        await openai.open_session(turn(("user", "hi"))).next_step(timeout_seconds=1)

    assert caught.value.reason == reason
    assert getattr(caught.value, "retry_after_seconds", None) == retry_after
    assert OPENAI_KEY not in str(caught.value)
    assert caught.value.metadata == {"provider": "openai"}


async def test_bad_key_message_names_the_setting_and_logs_no_key(
    openai_server: OpenAIFake, openai: OpenAIProvider, caplog: pytest.LogCaptureFixture
) -> None:
    openai_server.reply(
        error(401, f"Incorrect API key provided: {OPENAI_KEY}", code="invalid_api_key")
    )

    with pytest.raises(FailedPrecondition, match="OPENAI_API_KEY"):
        await openai.open_session(turn(("user", "hi"))).next_step(timeout_seconds=1)

    assert OPENAI_KEY not in caplog.text


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streaming"])
async def test_a_model_slower_than_the_timeout_is_deadline_exceeded_fast(
    openai_server: OpenAIFake, openai: OpenAIProvider, streaming: bool
) -> None:
    openai_server.reply(StallReply(5.0))

    async def sink(text: str) -> None:
        pass

    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as caught:
        await openai.open_session(turn(("user", "hi"))).next_step(
            timeout_seconds=0.2, on_text=sink if streaming else None
        )

    assert time.monotonic() - started < 0.8
    assert caught.value.reason == "LLM_TIMEOUT"


async def test_a_closed_port_is_unavailable_fast(closed_port_origin: str) -> None:
    own = openai_provider(f"{closed_port_origin}/v1")
    started = time.monotonic()
    try:
        with pytest.raises(Unavailable) as caught:
            await own.open_session(turn(("user", "hi"))).next_step(timeout_seconds=1)
    finally:
        await own.aclose()

    assert time.monotonic() - started < 0.5
    assert caught.value.reason == "LLM_UNAVAILABLE"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        pytest.param(
            stream(["Working on "], error=error_event("upstream died")),
            Unavailable,
            id="error-event",
        ),
        pytest.param(
            stream(
                ["Working on "],
                error=error_event("slow down", type_="requests", code="rate_limit_exceeded"),
            ),
            ResourceExhausted,
            id="quota-event",
        ),
        pytest.param(stream(["Working on "], drop_at_end=True), Unavailable, id="cut-off"),
    ],
)
async def test_a_failure_mid_stream_maps_by_its_kind(
    openai_server: OpenAIFake,
    openai: OpenAIProvider,
    reply: Any,
    expected: type[DomainError],
) -> None:
    openai_server.reply(reply)
    deltas: list[str] = []

    async def sink(text: str) -> None:
        deltas.append(text)

    with pytest.raises(expected):
        await openai.open_session(turn(("user", "hi"))).next_step(timeout_seconds=1, on_text=sink)

    assert deltas == ["Working on "]


async def test_an_empty_answer_becomes_a_polite_fallback_not_silence(
    openai_server: OpenAIFake, openai: OpenAIProvider
) -> None:
    openai_server.reply(stream([]))
    deltas: list[str] = []

    async def sink(text: str) -> None:
        deltas.append(text)

    step = await openai.open_session(turn(("user", "hi"))).next_step(
        timeout_seconds=1, on_text=sink
    )

    assert step.text.startswith("Sorry")
    assert deltas == [step.text]
