"""GeminiProvider through the real google-genai SDK against a local fake Gemini API:
what it sends (prompt, tools, history, results, thought signatures) and what it returns."""

from __future__ import annotations

from typing import Any

from services.chat.agent.tools import task_tools
from services.chat.llm.base import ModelStep, ToolOutcome, Usage
from services.chat.llm.gemini import GeminiProvider
from tests.fakes.gemini_server import (
    Call,
    GeminiFake,
    calls_turn,
    error,
    stream,
    text_chunk,
    text_turn,
    usage,
)
from tests.unit.chat.llm.providers import GEMINI_KEY, GEMINI_MODEL, SYSTEM, turn

SIG_1 = "c2lnbmF0dXJlLW9uZQ=="
SIG_2 = "c2lnbmF0dXJlLXR3bw=="


def _ok(step: ModelStep, result: Any) -> list[ToolOutcome]:
    return [ToolOutcome(call, result, True) for call in step.tool_calls]


async def test_single_call_then_text_sends_prompt_tools_history_and_signature(
    gemini_server: GeminiFake, gemini: GeminiProvider
) -> None:
    gemini_server.reply(
        calls_turn(Call("add_task", {"title": "Buy milk"}, id="fc-1", signature=SIG_1)),
        text_turn('Added "Buy milk".', meta=usage(prompt=60, candidates=5)),
    )
    session = gemini.open_session(
        turn(("user", "hi"), ("assistant", "Hello! What can I do?"), ("user", "add buy milk"))
    )

    first = await session.next_step(timeout_seconds=1.5)
    session.add_tool_outcomes(_ok(first, {"task": {"id": "t-1", "title": "Buy milk"}}))
    second = await session.next_step(timeout_seconds=1.5)

    assert first.tool_calls[0].id == "fc-1"
    assert (first.tool_calls[0].name, first.tool_calls[0].arguments) == (
        "add_task",
        {"title": "Buy milk"},
    )
    assert first.usage == Usage(prompt_tokens=40, completion_tokens=8, total_tokens=48)
    assert second == ModelStep(text='Added "Buy milk".', usage=Usage(60, 5, 65))

    one, two = gemini_server.requests
    assert GeminiFake.route(one) == {
        "version": "v1beta",
        "model": GEMINI_MODEL,
        "method": "generateContent",
    }
    assert one.headers["x-goog-api-key"] == GEMINI_KEY
    assert one.headers["x-server-timeout"] == "2"  # ceil(1.5 s): the per-call timeout
    assert one.body["systemInstruction"]["parts"] == [{"text": SYSTEM}]
    declared = one.body["tools"][0]["functionDeclarations"]
    assert [(d["name"], d["parameters_json_schema"]) for d in declared] == [
        (t.name, t.parameters) for t in task_tools()
    ]
    assert one.body["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}
    assert one.body["contents"] == [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "model", "parts": [{"text": "Hello! What can I do?"}]},
        {"role": "user", "parts": [{"text": "add buy milk"}]},
    ]
    assert two.body["contents"][3:] == [
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {
                        "id": "fc-1",
                        "name": "add_task",
                        "args": {"title": "Buy milk"},
                    },
                    "thoughtSignature": SIG_1,
                }
            ],
        },
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "id": "fc-1",
                        "name": "add_task",
                        "response": {"result": {"task": {"id": "t-1", "title": "Buy milk"}}},
                    }
                }
            ],
        },
    ]


async def test_parallel_calls_answered_in_call_order_with_errors_and_no_invented_ids(
    gemini_server: GeminiFake, gemini: GeminiProvider
) -> None:
    gemini_server.reply(
        calls_turn(
            Call("complete_task", {"task_id": "t-1"}),
            Call("delete_task", {"task_id": "t-9"}),
        ),
        text_turn("Done."),
    )
    session = gemini.open_session(turn(("user", "finish t-1 and drop t-9")))

    step = await session.next_step(timeout_seconds=1)
    done, gone = step.tool_calls
    session.add_tool_outcomes(
        [
            ToolOutcome(gone, {"code": "NOT_FOUND", "message": "task not found"}, False),
            ToolOutcome(done, {"task": {"id": "t-1", "completed": True}}, True),
        ]
    )
    await session.next_step(timeout_seconds=1)

    assert done.id != gone.id
    assert [c.name for c in step.tool_calls] == ["complete_task", "delete_task"]
    responses = [
        p["functionResponse"] for p in gemini_server.requests[1].body["contents"][-1]["parts"]
    ]
    assert responses == [
        {
            "name": "complete_task",
            "response": {"result": {"task": {"id": "t-1", "completed": True}}},
        },
        {
            "name": "delete_task",
            "response": {"error": {"code": "NOT_FOUND", "message": "task not found"}},
        },
    ]


async def test_multi_step_turn_keeps_whole_history_in_order(
    gemini_server: GeminiFake, gemini: GeminiProvider
) -> None:
    gemini_server.reply(
        calls_turn(Call("list_tasks", {"search": "milk"}, id="a", signature=SIG_1)),
        calls_turn(Call("complete_task", {"task_id": "t-7"}, id="b", signature=SIG_2)),
        text_turn('Marked "Buy milk" as done.'),
    )
    session = gemini.open_session(turn(("user", "done with milk")))

    listed = await session.next_step(timeout_seconds=1)
    session.add_tool_outcomes(_ok(listed, {"tasks": [{"id": "t-7", "title": "Buy milk"}]}))
    completed = await session.next_step(timeout_seconds=1)
    session.add_tool_outcomes(_ok(completed, {"task": {"id": "t-7", "completed": True}}))
    final = await session.next_step(timeout_seconds=1)

    assert final.text == 'Marked "Buy milk" as done.'
    last = gemini_server.requests[2].body["contents"]
    assert [c["role"] for c in last] == ["user", "model", "user", "model", "user"]
    assert [next(iter(c["parts"][0])) for c in last] == [
        "text",
        "functionCall",
        "functionResponse",
        "functionCall",
        "functionResponse",
    ]
    assert [c["parts"][0]["thoughtSignature"] for c in (last[1], last[3])] == [SIG_1, SIG_2]
    assert last[4]["parts"][0]["functionResponse"]["id"] == "b"


async def test_streaming_forwards_text_and_rebuilds_the_call_turn_with_its_signature(
    gemini_server: GeminiFake, gemini: GeminiProvider
) -> None:
    gemini_server.reply(
        stream(
            text_chunk("Let me ", meta={"promptTokenCount": 70, "totalTokenCount": 70}),
            calls_turn(
                Call("add_task", {"title": "Call mom"}, id="s1", signature=SIG_1),
                Call("add_task", {"title": "Pay rent"}, id="s2"),
                meta=usage(prompt=70, candidates=12),
            ),
        ),
        stream(
            text_chunk("Added both"), text_chunk(" tasks.", meta=usage(prompt=90, candidates=4))
        ),
    )
    deltas: list[str] = []

    async def sink(text: str) -> None:
        deltas.append(text)

    session = gemini.open_session(turn(("user", "add call mom and pay rent")))
    first = await session.next_step(timeout_seconds=1, on_text=sink)
    session.add_tool_outcomes(_ok(first, {"task": {"id": "t"}}))
    second = await session.next_step(timeout_seconds=1, on_text=sink)

    assert [c.arguments["title"] for c in first.tool_calls] == ["Call mom", "Pay rent"]
    assert first.text == "Let me "
    assert first.usage == Usage(70, 12, 82)
    assert second.text == "Added both tasks."
    assert deltas == ["Let me ", "Added both", " tasks."]
    assert [GeminiFake.route(r)["method"] for r in gemini_server.requests] == [
        "streamGenerateContent",
        "streamGenerateContent",
    ]
    assert gemini_server.requests[0].query == {"alt": ["sse"]}
    model_turn = gemini_server.requests[1].body["contents"][1]
    assert model_turn["role"] == "model"
    assert model_turn["parts"][0] == {"text": "Let me "}
    assert model_turn["parts"][1]["thoughtSignature"] == SIG_1
    assert [p["functionCall"]["id"] for p in model_turn["parts"][1:]] == ["s1", "s2"]
    responses = gemini_server.requests[1].body["contents"][2]["parts"]
    assert [p["functionResponse"]["id"] for p in responses] == ["s1", "s2"]


async def test_selected_context_rides_in_the_user_message_not_the_system_prompt(
    gemini_server: GeminiFake, gemini: GeminiProvider
) -> None:
    gemini_server.reply(text_turn("Sure."))
    session = gemini.open_session(turn(("user", "add this"), context="Renew passport"))

    await session.next_step(timeout_seconds=1)

    body = gemini_server.requests[0].body
    assert body["systemInstruction"]["parts"] == [{"text": SYSTEM}]
    text = body["contents"][-1]["parts"][0]["text"]
    assert text.startswith("add this\n\n")
    assert "Renew passport" in text


async def test_server_errors_are_retried_within_the_budget(
    gemini_server: GeminiFake, gemini: GeminiProvider
) -> None:
    gemini_server.reply(error(503, "UNAVAILABLE", "overloaded"), text_turn("ok"))

    step = await gemini.open_session(turn(("user", "hi"))).next_step(timeout_seconds=1)

    assert step.text == "ok"
    assert len(gemini_server.requests) == 2
