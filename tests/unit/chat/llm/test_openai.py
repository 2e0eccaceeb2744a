"""OpenAIProvider through the real openai SDK against a local fake chat completions API:
what it sends (prompt, tools, history, tool results) and what it returns."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from services.chat.agent.tools import task_tools
from services.chat.llm.base import ModelStep, ToolOutcome, Usage
from services.chat.llm.openai import OpenAIProvider
from services.servicekit.errors import ResourceExhausted
from tests.fakes.openai_server import (
    COMPLETIONS_PATH,
    OpenAIFake,
    ToolCall,
    completion,
    error,
    stream,
    usage,
)
from tests.unit.chat.llm.providers import OPENAI_KEY, OPENAI_MODEL, SYSTEM, openai_provider, turn


def _ok(step: ModelStep, result: Any) -> list[ToolOutcome]:
    return [ToolOutcome(call, result, True) for call in step.tool_calls]


async def test_single_call_then_text_sends_prompt_tools_history_and_results(
    openai_server: OpenAIFake, openai: OpenAIProvider
) -> None:
    openai_server.reply(
        completion(None, ToolCall("call_1", "add_task", {"title": "Buy milk"})),
        completion('Added "Buy milk".', meta=usage(prompt=80, completion_tokens=6)),
    )
    session = openai.open_session(
        turn(("user", "hi"), ("assistant", "Hello! What can I do?"), ("user", "add buy milk"))
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
    assert one.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert one.body["model"] == OPENAI_MODEL
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
    openai_server: OpenAIFake, openai: OpenAIProvider
) -> None:
    openai_server.reply(
        completion(
            None,
            ToolCall("c-a", "complete_task", {"task_id": "t-1", "completed": True}),
            ToolCall("c-b", "delete_task", {"task_id": "t-9"}),
        ),
        completion("Done."),
    )
    session = openai.open_session(turn(("user", "finish t-1, drop t-9")))

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
    openai_server: OpenAIFake, openai: OpenAIProvider
) -> None:
    openai_server.reply(
        completion(None, ToolCall("c1", "list_tasks", {"search": "milk"})),
        completion("One moment.", ToolCall("c2", "complete_task", {"task_id": "t-7"})),
        completion('Marked "Buy milk" as done.'),
    )
    session = openai.open_session(turn(("user", "done with milk")))

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
    openai_server: OpenAIFake, openai: OpenAIProvider
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

    session = openai.open_session(turn(("user", "add call mom (urgent) and pay rent")))
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
    openai_server: OpenAIFake, openai: OpenAIProvider
) -> None:
    openai_server.reply(completion(None, ToolCall("c1", "add_task", '{"title": "Buy')), {})
    session = openai.open_session(turn(("user", "add buy milk")))

    step = await session.next_step(timeout_seconds=1)
    session.add_tool_outcomes([ToolOutcome(step.tool_calls[0], {"code": "INVALID"}, False)])
    await session.next_step(timeout_seconds=1)

    assert step.tool_calls[0].arguments == {}
    echoed = openai_server.requests[1].body["messages"][2]["tool_calls"][0]
    assert echoed["function"]["arguments"] == '{"title": "Buy'


async def test_selected_context_rides_in_the_user_message(
    openai_server: OpenAIFake, openai: OpenAIProvider
) -> None:
    openai_server.reply(completion("Sure."))

    await openai.open_session(turn(("user", "add this"), context="Renew passport")).next_step(
        timeout_seconds=1
    )

    messages = openai_server.requests[0].body["messages"]
    assert messages[0] == {"role": "system", "content": SYSTEM}
    assert messages[-1]["content"].startswith("add this\n\n")
    assert "Renew passport" in messages[-1]["content"]


async def test_server_errors_are_retried_within_the_budget(openai_server: OpenAIFake) -> None:
    openai_server.reply(error(503, "overloaded", type_="server_error"), completion("ok"))
    own = openai_provider(openai_server.base_url, max_retries=1)
    try:
        step = await own.open_session(turn(("user", "hi"))).next_step(timeout_seconds=1)
    finally:
        await own.aclose()

    assert step.text == "ok"
    assert [r.headers["x-stainless-retry-count"] for r in openai_server.requests] == ["0", "1"]


async def test_quota_errors_are_not_retried_even_with_a_retry_budget(
    openai_server: OpenAIFake,
) -> None:
    openai_server.reply(
        error(429, "Rate limit reached", code="rate_limit_exceeded", headers={"retry-after": "7"}),
        completion("too late"),
    )
    own = openai_provider(openai_server.base_url, max_retries=2)
    started = time.monotonic()
    try:
        with pytest.raises(ResourceExhausted) as caught:
            await own.open_session(turn(("user", "hi"))).next_step(timeout_seconds=1)
    finally:
        await own.aclose()

    assert time.monotonic() - started < 0.5
    assert caught.value.retry_after_seconds == 7.0
    assert len(openai_server.requests) == 1
