"""OpenAIProvider through the real openai SDK against a local fake chat completions API."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.chat.agent.tools import task_tools
from services.chat.llm.base import HistoryMessage, ModelStep, ToolOutcome, TurnInput, Usage
from services.chat.llm.openai import OpenAIProvider
from services.servicekit.errors import (
    DeadlineExceeded,
    DomainError,
    FailedPrecondition,
    ResourceExhausted,
    Unavailable,
)
from tests.fakes.openai_server import (
    COMPLETIONS_PATH,
    OpenAIFake,
    StallReply,
    ToolCall,
    completion,
    error,
    error_event,
    stream,
    usage,
)

KEY = "sk-test-0123456789abcdef"
MODEL = "gpt-test-mini"
SYSTEM = "You are TodoBot. Today is Monday."


def _turn(*messages: tuple[str, str], context: str | None = None) -> TurnInput:
    history = [HistoryMessage(role, text) for role, text in messages]  # type: ignore[arg-type]
    return TurnInput(system_prompt=SYSTEM, history=history, tools=task_tools(), context=context)


def _provider(base_url: str, **overrides: Any) -> OpenAIProvider:
    options: dict[str, Any] = {
        "api_key": KEY,
        "model": MODEL,
        "base_url": base_url,
        "timeout_seconds": 2.0,
        "max_retries": 0,
    }
    options.update(overrides)
    return OpenAIProvider(**options)


@pytest.fixture
async def provider(openai_server: OpenAIFake) -> AsyncIterator[OpenAIProvider]:
    built = _provider(openai_server.base_url)
    yield built
    await built.aclose()


def _ok(step: ModelStep, result: Any) -> list[ToolOutcome]:
    return [ToolOutcome(call, result, True) for call in step.tool_calls]


async def test_single_call_then_text_sends_prompt_tools_history_and_results(
    openai_server: OpenAIFake, provider: OpenAIProvider
) -> None:
    openai_server.reply(
        completion(None, ToolCall("call_1", "add_task", {"title": "Buy milk"})),
        completion('Added "Buy milk".', meta=usage(prompt=80, completion_tokens=6)),
    )
    session = provider.open_session(
        _turn(("user", "hi"), ("assistant", "Hello! What can I do?"), ("user", "add buy milk"))
    )

    first = await session.next_step(timeout_seconds=1.5)
    session.add_tool_outcomes(_ok(first, {"task": {"id": "t-1", "title": "Buy milk"}}))
    second = await session.next_step(timeout_seconds=1.5)

    assert [(c.id, c.name, c.arguments) for c in first.tool_calls] == [
        ("call_1", "add_task", {"title": "Buy milk"})
    ]
    assert first.usage == Usage(50, 9, 59)
    assert second == ModelStep(text='Added "Buy milk".', usage=Usage(80, 6, 86))

    one, two = openai_server.requests
    assert one.path == COMPLETIONS_PATH
    assert one.headers["authorization"] == f"Bearer {KEY}"
    assert one.body["model"] == MODEL
    assert one.body["tool_choice"] == "auto"
    assert one.body["tools"] == [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in task_tools()
    ]
    assert one.body["messages"] == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello! What can I do?"},
        {"role": "user", "content": "add buy milk"},
    ]
    assert "stream" not in one.body
    assert two.body["messages"][4:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "add_task", "arguments": '{"title": "Buy milk"}'},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": '{"task": {"id": "t-1", "title": "Buy milk"}}',
        },
    ]


async def test_parallel_calls_each_get_a_tool_message_in_call_order(
    openai_server: OpenAIFake, provider: OpenAIProvider
) -> None:
    openai_server.reply(
        completion(
            None,
            ToolCall("c-a", "complete_task", {"task_id": "t-1", "completed": True}),
            ToolCall("c-b", "delete_task", {"task_id": "t-9"}),
        ),
        completion("Done."),
    )
    session = provider.open_session(_turn(("user", "finish t-1, drop t-9")))

    step = await session.next_step(timeout_seconds=1)
    done, gone = step.tool_calls
    session.add_tool_outcomes(
        [
            ToolOutcome(gone, {"code": "NOT_FOUND", "message": "task not found"}, False),
            ToolOutcome(done, {"task": {"id": "t-1", "completed": True}}, True),
        ]
    )
    await session.next_step(timeout_seconds=1)

    tool_messages = openai_server.requests[1].body["messages"][3:]
    assert [(m["tool_call_id"], json.loads(m["content"])) for m in tool_messages] == [
        ("c-a", {"task": {"id": "t-1", "completed": True}}),
        ("c-b", {"error": {"code": "NOT_FOUND", "message": "task not found"}}),
    ]


async def test_multi_step_turn_keeps_whole_history_in_order(
    openai_server: OpenAIFake, provider: OpenAIProvider
) -> None:
    openai_server.reply(
        completion(None, ToolCall("c1", "list_tasks", {"search": "milk"})),
        completion("One moment.", ToolCall("c2", "complete_task", {"task_id": "t-7"})),
        completion('Marked "Buy milk" as done.'),
    )
    session = provider.open_session(_turn(("user", "done with milk")))

    listed = await session.next_step(timeout_seconds=1)
    session.add_tool_outcomes(_ok(listed, {"tasks": [{"id": "t-7", "title": "Buy milk"}]}))
    completed = await session.next_step(timeout_seconds=1)
    session.add_tool_outcomes(_ok(completed, {"task": {"id": "t-7", "completed": True}}))
    final = await session.next_step(timeout_seconds=1)

    assert completed.text == "One moment."
    assert final.text == 'Marked "Buy milk" as done.'
    messages = openai_server.requests[2].body["messages"]
    assert [m["role"] for m in messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
    ]
    assert messages[4]["content"] == "One moment."
    assert [m["tool_call_id"] for m in messages if m["role"] == "tool"] == ["c1", "c2"]


async def test_streaming_assembles_call_fragments_and_forwards_text(
    openai_server: OpenAIFake, provider: OpenAIProvider
) -> None:
    openai_server.reply(
        stream(
            ["Sure, ", "adding them."],
            [
                ToolCall("s1", "add_task", {"title": "Call mom", "priority": "high"}),
                ToolCall("s2", "add_task", {"title": "Pay rent", "tags": ["home"]}),
            ],
            fragments=4,
            meta=usage(prompt=70, completion_tokens=30),
        ),
        stream(["Added ", "both."]),
    )
    deltas: list[str] = []

    async def sink(text: str) -> None:
        deltas.append(text)

    session = provider.open_session(_turn(("user", "add call mom (urgent) and pay rent")))
    first = await session.next_step(timeout_seconds=1, on_text=sink)
    session.add_tool_outcomes(_ok(first, {"task": {"id": "t"}}))
    second = await session.next_step(timeout_seconds=1, on_text=sink)

    assert [(c.id, c.arguments) for c in first.tool_calls] == [
        ("s1", {"title": "Call mom", "priority": "high"}),
        ("s2", {"title": "Pay rent", "tags": ["home"]}),
    ]
    assert first.text == "Sure, adding them."
    assert first.usage == Usage(70, 30, 100)
    assert second.text == "Added both."
    assert deltas == ["Sure, ", "adding them.", "Added ", "both."]
    request = openai_server.requests[0].body
    assert request["stream"] is True
    assert request["stream_options"] == {"include_usage": True}
    echoed = openai_server.requests[1].body["messages"][2]
    assert echoed["content"] == "Sure, adding them."
    assert [json.loads(c["function"]["arguments"]) for c in echoed["tool_calls"]] == [
        {"title": "Call mom", "priority": "high"},
        {"title": "Pay rent", "tags": ["home"]},
    ]


async def test_unparseable_arguments_become_empty_and_are_echoed_verbatim(
    openai_server: OpenAIFake, provider: OpenAIProvider
) -> None:
    openai_server.reply(completion(None, ToolCall("c1", "add_task", '{"title": "Buy')), {})
    session = provider.open_session(_turn(("user", "add buy milk")))

    step = await session.next_step(timeout_seconds=1)
    session.add_tool_outcomes([ToolOutcome(step.tool_calls[0], {"code": "INVALID"}, False)])
    await session.next_step(timeout_seconds=1)

    assert step.tool_calls[0].arguments == {}
    echoed = openai_server.requests[1].body["messages"][2]["tool_calls"][0]
    assert echoed["function"]["arguments"] == '{"title": "Buy'


async def test_selected_context_rides_in_the_user_message(
    openai_server: OpenAIFake, provider: OpenAIProvider
) -> None:
    openai_server.reply(completion("Sure."))

    await provider.open_session(_turn(("user", "add this"), context="Renew passport")).next_step(
        timeout_seconds=1
    )

    messages = openai_server.requests[0].body["messages"]
    assert messages[0] == {"role": "system", "content": SYSTEM}
    assert messages[-1]["content"].startswith("add this\n\n")
    assert "Renew passport" in messages[-1]["content"]


async def test_server_errors_are_retried_within_the_budget(openai_server: OpenAIFake) -> None:
    openai_server.reply(error(503, "overloaded", type_="server_error"), completion("ok"))
    provider = _provider(openai_server.base_url, max_retries=1)
    try:
        step = await provider.open_session(_turn(("user", "hi"))).next_step(timeout_seconds=1)
    finally:
        await provider.aclose()

    assert step.text == "ok"
    assert [r.headers["x-stainless-retry-count"] for r in openai_server.requests] == ["0", "1"]


async def test_quota_errors_are_not_retried_even_with_a_retry_budget(
    openai_server: OpenAIFake,
) -> None:
    openai_server.reply(
        error(429, "Rate limit reached", code="rate_limit_exceeded", headers={"retry-after": "7"}),
        completion("too late"),
    )
    provider = _provider(openai_server.base_url, max_retries=2)
    started = time.monotonic()
    try:
        with pytest.raises(ResourceExhausted) as caught:
            await provider.open_session(_turn(("user", "hi"))).next_step(timeout_seconds=1)
    finally:
        await provider.aclose()

    assert time.monotonic() - started < 0.5
    assert caught.value.retry_after_seconds == 7.0
    assert len(openai_server.requests) == 1


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
            error(401, f"Incorrect API key provided: {KEY}", code="invalid_api_key"),
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
    provider: OpenAIProvider,
    reply: Any,
    expected: type[DomainError],
    reason: str,
    retry_after: float | None,
) -> None:
    openai_server.reply(reply)

    with pytest.raises(expected) as caught:
        await provider.open_session(_turn(("user", "hi"))).next_step(timeout_seconds=1)

    assert caught.value.reason == reason
    assert getattr(caught.value, "retry_after_seconds", None) == retry_after
    assert KEY not in str(caught.value)
    assert caught.value.metadata == {"provider": "openai"}


async def test_bad_key_message_names_the_setting_and_logs_no_key(
    openai_server: OpenAIFake, provider: OpenAIProvider, caplog: pytest.LogCaptureFixture
) -> None:
    openai_server.reply(error(401, f"Incorrect API key provided: {KEY}", code="invalid_api_key"))

    with pytest.raises(FailedPrecondition, match="OPENAI_API_KEY"):
        await provider.open_session(_turn(("user", "hi"))).next_step(timeout_seconds=1)

    assert KEY not in caplog.text


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streaming"])
async def test_a_model_slower_than_the_timeout_is_deadline_exceeded_fast(
    openai_server: OpenAIFake, provider: OpenAIProvider, streaming: bool
) -> None:
    openai_server.reply(StallReply(5.0))

    async def sink(text: str) -> None:
        pass

    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as caught:
        await provider.open_session(_turn(("user", "hi"))).next_step(
            timeout_seconds=0.2, on_text=sink if streaming else None
        )

    assert time.monotonic() - started < 0.8
    assert caught.value.reason == "LLM_TIMEOUT"


async def test_a_closed_port_is_unavailable_fast(closed_port_origin: str) -> None:
    provider = _provider(f"{closed_port_origin}/v1")
    started = time.monotonic()
    try:
        with pytest.raises(Unavailable) as caught:
            await provider.open_session(_turn(("user", "hi"))).next_step(timeout_seconds=1)
    finally:
        await provider.aclose()

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
    provider: OpenAIProvider,
    reply: Any,
    expected: type[DomainError],
) -> None:
    openai_server.reply(reply)
    deltas: list[str] = []

    async def sink(text: str) -> None:
        deltas.append(text)

    with pytest.raises(expected):
        await provider.open_session(_turn(("user", "hi"))).next_step(
            timeout_seconds=1, on_text=sink
        )

    assert deltas == ["Working on "]


async def test_an_empty_answer_becomes_a_polite_fallback_not_silence(
    openai_server: OpenAIFake, provider: OpenAIProvider
) -> None:
    openai_server.reply(stream([]))
    deltas: list[str] = []

    async def sink(text: str) -> None:
        deltas.append(text)

    step = await provider.open_session(_turn(("user", "hi"))).next_step(
        timeout_seconds=1, on_text=sink
    )

    assert step.text.startswith("Sorry")
    assert deltas == [step.text]
