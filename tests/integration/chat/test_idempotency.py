"""A turn that dies part-way keeps the user's message; its retry completes it once."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import json_format
from todochat.chat.v1 import chat_service_pb2 as pb
from todochat.tasks.v1 import tasks_service_pb2 as tasks_pb

from services.chat.llm import failures
from services.chat.llm.base import ModelStep
from tests.integration.chat.conftest import ChatEnv, error_details
from tests.integration.chat.scripted import ScriptedProvider, ScriptedSession, call, say, tools


class DiesOnceAfterItsToolCall:
    """Adds a task, then the model goes down on the first attempt's second step."""

    def __init__(self) -> None:
        self.failed = False

    def __call__(self, session: ScriptedSession) -> ModelStep:
        if session.step == 0:
            return tools(call("add_task", title="pay rent"))
        if not self.failed:
            self.failed = True
            raise failures.unavailable("scripted")
        return say(f'Added "{session.last_outcomes[0].result["title"]}".')


async def test_retry_after_a_failure_gives_one_answer_one_task_one_user_message(
    chat_env: ChatEnv, user_id: str
) -> None:
    provider = ScriptedProvider(DiesOnceAfterItsToolCall())
    chat = await chat_env.start_chat(provider)
    md = chat_env.md(user_id)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await chat.chat("add pay rent", md, request_id="turn-1")
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE, "no 200 apology"
    assert error_details(caught.value).reasons == ["LLM_UNAVAILABLE"]
    [conversation] = (
        await chat.stub.ListConversations(pb.ListConversationsRequest(), metadata=md)
    ).conversations
    assert (conversation.message_count, conversation.last_message) == (1, "add pay rent"), (
        "the user's message is kept"
    )
    first_task = (
        await chat_env.tasks_stub.ListTasks(tasks_pb.ListTasksRequest(), metadata=md)
    ).tasks
    assert [t.title for t in first_task] == ["pay rent"], "the first attempt's tool call ran"

    answer = await chat.chat("add pay rent", md, request_id="turn-1")
    assert answer.content == 'Added "pay rent".'
    assert answer.conversation_id == conversation.id
    [record] = answer.tool_calls
    assert json_format.MessageToDict(record.result)["id"] == first_task[0].id, (
        "the retried tool call got TaskService's first answer"
    )
    tasks = (await chat_env.tasks_stub.ListTasks(tasks_pb.ListTasksRequest(), metadata=md)).tasks
    assert [t.id for t in tasks] == [first_task[0].id], "one task"
    messages = (
        await chat.stub.ListMessages(
            pb.ListMessagesRequest(conversation_id=conversation.id), metadata=md
        )
    ).messages
    assert [(m.role, m.content) for m in messages] == [
        ("user", "add pay rent"),
        ("assistant", 'Added "pay rent".'),
    ], "one user message, one answer"
    assert [m.content for m in provider.sessions[1].turn.history] == ["add pay rent"]

    again = await chat.chat("add pay rent", md, request_id="turn-1")
    assert again == answer, "a finished turn answers with what it stored"
    assert len(provider.sessions) == 2, "and never runs the model again"

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await chat.chat("add something else", md, request_id="turn-1")
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(caught.value).fields == ["request_id"]


async def test_request_ids_are_per_user(chat_env: ChatEnv, user_id: str) -> None:
    chat = await chat_env.start_chat()
    mine = await chat.chat("hello", chat_env.md(user_id), request_id="same-key")
    theirs = await chat.chat("hello", chat_env.md(user_id + "-other"), request_id="same-key")
    assert theirs.conversation_id != mine.conversation_id
    assert len(chat.provider.sessions) == 2
