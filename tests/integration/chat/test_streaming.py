"""StreamChat: the turn's events in the order they happen; a client that leaves cancels
the model call, and the turn stays consistent and resumable."""

from __future__ import annotations

import asyncio
import json

import grpc
from google.protobuf import json_format
from todochat.chat.v1 import chat_service_pb2 as pb
from todochat.tasks.v1 import tasks_service_pb2 as tasks_pb

from services.chat.llm.base import ModelStep
from tests.integration.chat.conftest import ChatEnv
from tests.integration.chat.scripted import ScriptedProvider, ScriptedSession, call, say, tools


def _narrating(session: ScriptedSession) -> ModelStep:
    if session.step == 0:
        return tools(call("add_task", title="buy milk"), text="Let me add that.")
    return say(f'Added "{session.last_outcomes[0].result["title"]}" for you.')


async def test_events_arrive_in_order_and_done_is_last(chat_env: ChatEnv, user_id: str) -> None:
    chat = await chat_env.start_chat(ScriptedProvider(_narrating))
    md = chat_env.md(user_id)
    events = [
        e
        async for e in chat.stub.StreamChat(
            pb.StreamChatRequest(content="add buy milk", request_id="s1"), metadata=md, timeout=20
        )
    ]
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds == [
        *["text_delta"] * 4,  # "Let me add that." word by word
        "tool_call",
        "tool_result",
        *["text_delta"] * (1 + 5),  # the separator, then 'Added "buy milk" for you.'
        "done",
    ]
    started, finished = events[4].tool_call, events[5].tool_result
    assert (started.index, started.name) == (0, "add_task")
    assert json.loads(started.arguments_json) == {"title": "buy milk"}
    assert finished.index == 0 and finished.tool_call.ok
    assert json_format.MessageToDict(finished.tool_call.result)["title"] == "buy milk"

    done = events[-1].done
    text = "".join(e.text_delta.text for e in events if e.HasField("text_delta"))
    assert text == done.content == 'Let me add that.\n\nAdded "buy milk" for you.'
    assert list(done.tool_calls) == [finished.tool_call]
    stored = await chat.stub.GetConversation(
        pb.GetConversationRequest(conversation_id=done.conversation_id), metadata=md
    )
    assert stored.messages[-1].id == done.message_id
    assert stored.messages[-1].content == done.content

    replay = await chat.stub.Chat(
        pb.ChatRequest(content="add buy milk", request_id="s1"), metadata=md
    )
    assert replay == done, "a streamed turn is as idempotent as a unary one"


class Hangs:
    """Adds a task, then hangs in the model until cancelled; answers once released."""

    def __init__(self) -> None:
        self.hanging = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.release = False

    async def __call__(self, session: ScriptedSession) -> ModelStep:
        if session.step == 0:
            return tools(call("add_task", title="walk the dog"))
        if not self.release:
            self.hanging.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        return say("Added it.")


async def test_client_disconnect_cancels_the_model_and_the_retry_resumes(
    chat_env: ChatEnv, user_id: str
) -> None:
    script = Hangs()
    chat = await chat_env.start_chat(ScriptedProvider(script))
    md = chat_env.md(user_id)
    stream = chat.stub.StreamChat(
        pb.StreamChatRequest(content="add walk the dog", request_id="leaving"), metadata=md
    )
    async for event in stream:
        if event.HasField("tool_result"):
            break
    await asyncio.wait_for(script.hanging.wait(), 10)
    stream.cancel()
    await asyncio.wait_for(script.cancelled.wait(), 10)

    script.release = True
    codes = []
    for _ in range(50):  # the server records the failure right after the cancellation
        try:
            answer = await chat.chat("add walk the dog", md, request_id="leaving")
            break
        except grpc.aio.AioRpcError as exc:  # while the first attempt is still unwinding
            codes.append(exc.code())
            await asyncio.sleep(0.1)
    assert set(codes) <= {grpc.StatusCode.ABORTED}
    assert answer.content == "Added it."
    tasks = (await chat_env.tasks_stub.ListTasks(tasks_pb.ListTasksRequest(), metadata=md)).tasks
    assert [t.title for t in tasks] == ["walk the dog"]
    messages = (
        await chat.stub.ListMessages(
            pb.ListMessagesRequest(conversation_id=answer.conversation_id), metadata=md
        )
    ).messages
    assert [m.role for m in messages] == ["user", "assistant"]
