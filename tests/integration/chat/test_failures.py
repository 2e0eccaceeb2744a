"""Failures keep their status (never a 200 apology); task errors go back to the model."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid

import grpc
import pytest
from google.protobuf import json_format
from todochat.chat.v1 import chat_service_pb2 as pb

from services.chat.agent.loop import step_limit_note
from services.chat.llm import failures
from services.chat.llm.base import ModelStep
from services.servicekit.errors import DomainError
from tests.integration.chat.conftest import ChatEnv, error_details
from tests.integration.chat.scripted import ScriptedProvider, ScriptedSession, call, say, tools


def _raises(error: DomainError) -> ScriptedProvider:
    def script(session: ScriptedSession) -> ModelStep:
        raise error

    return ScriptedProvider(script)


@pytest.mark.parametrize(
    ("error", "code", "reason", "retry"),
    [
        pytest.param(
            failures.quota_exhausted("scripted", 30),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "LLM_QUOTA_EXHAUSTED",
            30,
            id="quota",
        ),
        pytest.param(
            failures.unavailable("scripted"),
            grpc.StatusCode.UNAVAILABLE,
            "LLM_UNAVAILABLE",
            None,
            id="down",
        ),
        pytest.param(
            failures.timed_out("scripted"),
            grpc.StatusCode.DEADLINE_EXCEEDED,
            "LLM_TIMEOUT",
            None,
            id="timeout",
        ),
        pytest.param(
            failures.misconfigured("scripted", "bad key"),
            grpc.StatusCode.FAILED_PRECONDITION,
            "LLM_MISCONFIGURED",
            None,
            id="misconfigured",
        ),
    ],
)
async def test_model_failures_propagate_and_the_message_is_kept(
    chat_env: ChatEnv,
    user_id: str,
    error: DomainError,
    code: grpc.StatusCode,
    reason: str,
    retry: int | None,
) -> None:
    chat = await chat_env.start_chat(_raises(error))
    md = chat_env.md(user_id)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await chat.chat("hello?", md)
    assert caught.value.code() is code
    details = error_details(caught.value)
    assert (details.reasons, details.retry_seconds) == ([reason], retry)
    [conversation] = (
        await chat.stub.ListConversations(pb.ListConversationsRequest(), metadata=md)
    ).conversations
    assert (conversation.message_count, conversation.last_message) == (1, "hello?")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_task_service_down_fails_the_turn_with_unavailable(
    chat_env: ChatEnv, user_id: str
) -> None:
    chat = await chat_env.start_chat(tasks_target=f"127.0.0.1:{_closed_port()}")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await chat.chat("list", chat_env.md(user_id))
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    assert error_details(caught.value).reasons == ["TASKS_UNAVAILABLE"]
    assert len(chat.provider.sessions[0].outcomes) == 0, "the model never saw a fake result"


async def _slow(session: ScriptedSession) -> ModelStep:
    await asyncio.sleep(30)  # ignores its timeout: the loop's backstop must cut it off
    return say("too late")


async def test_turn_timeout_bounds_the_turn(chat_env: ChatEnv, user_id: str) -> None:
    chat = await chat_env.start_chat(ScriptedProvider(_slow), turn_timeout_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await chat.chat("hello", chat_env.md(user_id))
    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert error_details(caught.value).reasons == ["TURN_DEADLINE_EXCEEDED"]
    assert time.monotonic() - started < 5
    assert chat.provider.sessions[0].timeouts[0] <= 0.5


async def test_the_callers_deadline_bounds_the_model_call(chat_env: ChatEnv, user_id: str) -> None:
    chat = await chat_env.start_chat(ScriptedProvider(_slow))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await chat.stub.Chat(
            pb.ChatRequest(content="hello"), metadata=chat_env.md(user_id), timeout=1.5
        )
    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert chat.provider.sessions[0].timeouts[0] < 1.5, "the model got the remaining time"


def _clumsy(session: ScriptedSession) -> ModelStep:
    if session.step > 0:
        return say("; ".join(str(o.result.get("code")) for o in session.last_outcomes))
    return tools(
        call("complete_task", task_id=str(uuid.uuid4())),
        call("add_task", title=""),
        call("add_task", title=5),
        call("add_task", title="ok", due_time="next friday"),
        call("send_email", to="someone"),
        call("delete_task"),
    )


async def test_task_errors_go_back_to_the_model_as_results(chat_env: ChatEnv, user_id: str) -> None:
    chat = await chat_env.start_chat(ScriptedProvider(_clumsy))
    answer = await chat.chat("do things", chat_env.md(user_id))
    codes = ["NOT_FOUND"] + ["INVALID_ARGUMENT"] * 5
    assert answer.content == "; ".join(codes)
    records = [(c.name, c.ok, json_format.MessageToDict(c.result)) for c in answer.tool_calls]
    assert [(name, ok, result["code"]) for name, ok, result in records] == [
        (name, False, code)
        for name, code in zip(
            ["complete_task", "add_task", "add_task", "add_task", "send_email", "delete_task"],
            codes,
            strict=True,
        )
    ]
    assert all(result["message"] for _, _, result in records)
    assert "task_id is required" in records[5][2]["message"]
    assert "title must be a string" in records[2][2]["message"]


async def test_step_limit_ends_the_turn_with_an_answer_saying_so(
    chat_env: ChatEnv, user_id: str
) -> None:
    def loops(session: ScriptedSession) -> ModelStep:
        return tools(call("list_tasks"))

    chat = await chat_env.start_chat(ScriptedProvider(loops), max_tool_steps=2)
    answer = await chat.chat("list forever", chat_env.md(user_id))
    assert [c.name for c in answer.tool_calls] == ["list_tasks", "list_tasks"]
    assert answer.content == step_limit_note(2)
    assert chat.provider.sessions[0].step == 3, "two rounds of tools, then one last ask"
