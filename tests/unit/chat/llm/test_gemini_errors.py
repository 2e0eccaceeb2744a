"""GeminiProvider failures through the real google-genai SDK: every HTTP, transport and
mid-stream failure becomes the servicekit error the design's table names."""

from __future__ import annotations

import time
from typing import Any

import pytest

from services.chat.llm.gemini import GeminiProvider
from services.servicekit.errors import (
    DeadlineExceeded,
    DomainError,
    FailedPrecondition,
    ResourceExhausted,
    Unavailable,
)
from tests.fakes.gemini_server import (
    GeminiFake,
    StallReply,
    error,
    error_event,
    stream,
    text_chunk,
)
from tests.unit.chat.llm.providers import GEMINI_KEY, gemini_provider, turn

RETRY_INFO = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}
BAD_KEY = {
    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
    "reason": "API_KEY_INVALID",
    "domain": "googleapis.com",
}


@pytest.mark.parametrize(
    ("replies", "expected", "reason", "requests", "retry_after"),
    [
        pytest.param(
            [error(429, "RESOURCE_EXHAUSTED", "quota", details=[RETRY_INFO])],
            ResourceExhausted,
            "LLM_QUOTA_EXHAUSTED",
            1,
            37.0,
            id="429-retryinfo-not-retried",
        ),
        pytest.param(
            [error(429, "RESOURCE_EXHAUSTED", "quota", headers={"Retry-After": "12"})],
            ResourceExhausted,
            "LLM_QUOTA_EXHAUSTED",
            1,
            12.0,
            id="429-retry-after-header",
        ),
        pytest.param(
            [error(429, "RESOURCE_EXHAUSTED", "quota")],
            ResourceExhausted,
            "LLM_QUOTA_EXHAUSTED",
            1,
            10.0,
            id="429-default-delay",
        ),
        pytest.param(
            [error(503, "UNAVAILABLE", "overloaded")] * 2,
            Unavailable,
            "LLM_UNAVAILABLE",
            2,
            None,
            id="503-after-retry",
        ),
        pytest.param(
            [error(500, "INTERNAL", "oops")] * 2,
            Unavailable,
            "LLM_UNAVAILABLE",
            2,
            None,
            id="500",
        ),
        pytest.param(
            [error(400, "INVALID_ARGUMENT", "API key not valid.", details=[BAD_KEY])],
            FailedPrecondition,
            "LLM_MISCONFIGURED",
            1,
            None,
            id="bad-key",
        ),
        pytest.param(
            [error(403, "PERMISSION_DENIED", "Permission denied")],
            FailedPrecondition,
            "LLM_MISCONFIGURED",
            1,
            None,
            id="forbidden",
        ),
        pytest.param(
            [error(404, "NOT_FOUND", "models/gemini-test-flash is not found")],
            FailedPrecondition,
            "LLM_MISCONFIGURED",
            1,
            None,
            id="unknown-model",
        ),
        pytest.param(
            [error(400, "INVALID_ARGUMENT", "Function call is missing a thought_signature")],
            FailedPrecondition,
            "LLM_MISCONFIGURED",
            1,
            None,
            id="other-400",
        ),
    ],
)
async def test_http_errors_map_to_domain_errors(
    gemini_server: GeminiFake,
    gemini: GeminiProvider,
    replies: list[Any],
    expected: type[DomainError],
    reason: str,
    requests: int,
    retry_after: float | None,
) -> None:
    gemini_server.reply(*replies)

    with pytest.raises(expected) as caught:
        await gemini.open_session(turn(("user", "hi"))).next_step(timeout_seconds=1)

    assert caught.value.reason == reason
    assert getattr(caught.value, "retry_after_seconds", None) == retry_after
    assert len(gemini_server.requests) == requests
    assert GEMINI_KEY not in str(caught.value)
    assert caught.value.metadata == {"provider": "gemini"}


async def test_bad_key_message_tells_the_operator_what_to_fix(
    gemini_server: GeminiFake, gemini: GeminiProvider
) -> None:
    gemini_server.reply(error(400, "INVALID_ARGUMENT", "API key not valid.", details=[BAD_KEY]))

    with pytest.raises(FailedPrecondition, match="GEMINI_API_KEY"):
        await gemini.open_session(turn(("user", "hi"))).next_step(timeout_seconds=1)


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streaming"])
async def test_a_model_slower_than_the_timeout_is_deadline_exceeded_fast(
    gemini_server: GeminiFake, streaming: bool
) -> None:
    gemini_server.reply(StallReply(5.0), StallReply(5.0))
    own = gemini_provider(gemini_server.origin, retry_attempts=1)

    async def sink(text: str) -> None:
        pass

    started = time.monotonic()
    try:
        with pytest.raises(DeadlineExceeded) as caught:
            await own.open_session(turn(("user", "hi"))).next_step(
                timeout_seconds=0.2, on_text=sink if streaming else None
            )
    finally:
        await own.aclose()

    assert time.monotonic() - started < 0.8
    assert caught.value.reason == "LLM_TIMEOUT"


async def test_a_closed_port_is_unavailable_fast(closed_port_origin: str) -> None:
    own = gemini_provider(closed_port_origin)
    started = time.monotonic()
    try:
        with pytest.raises(Unavailable) as caught:
            await own.open_session(turn(("user", "hi"))).next_step(timeout_seconds=1)
    finally:
        await own.aclose()

    assert time.monotonic() - started < 0.5
    assert caught.value.reason == "LLM_UNAVAILABLE"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(error_event(503, "UNAVAILABLE", "backend died"), Unavailable, id="503-event"),
        pytest.param(
            error_event(429, "RESOURCE_EXHAUSTED", "quota"), ResourceExhausted, id="429-event"
        ),
        pytest.param(error_event(500, "INTERNAL", "oops"), Unavailable, id="500-event"),
    ],
)
async def test_an_error_event_mid_stream_maps_by_its_code(
    gemini_server: GeminiFake,
    gemini: GeminiProvider,
    event: dict[str, Any],
    expected: type[DomainError],
) -> None:
    gemini_server.reply(stream(text_chunk("Working on "), event))
    deltas: list[str] = []

    async def sink(text: str) -> None:
        deltas.append(text)

    with pytest.raises(expected):
        await gemini.open_session(turn(("user", "hi"))).next_step(timeout_seconds=1, on_text=sink)

    assert deltas == ["Working on "]


async def test_a_stream_cut_off_mid_way_is_unavailable(
    gemini_server: GeminiFake, gemini: GeminiProvider
) -> None:
    gemini_server.reply(stream(text_chunk("Working on "), drop_at_end=True))

    async def sink(text: str) -> None:
        pass

    with pytest.raises(Unavailable):
        await gemini.open_session(turn(("user", "hi"))).next_step(timeout_seconds=1, on_text=sink)


async def test_an_empty_answer_becomes_a_polite_fallback_not_silence(
    gemini_server: GeminiFake, gemini: GeminiProvider
) -> None:
    gemini_server.reply({"candidates": [], "promptFeedback": {"blockReason": "SAFETY"}})

    step = await gemini.open_session(turn(("user", "hi"))).next_step(timeout_seconds=1)

    assert step.tool_calls == ()
    assert step.text.startswith("Sorry")
