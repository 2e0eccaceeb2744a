"""The offline TodoBot through the real stack: agent loop, gRPC to TaskService, PostgreSQL.

A scripted everyday conversation; the answers and the task list must both be right.
"""

from __future__ import annotations

import grpc
from todochat.chat.v1 import chat_service_pb2 as pb
from todochat.chat.v1 import chat_service_pb2_grpc
from todochat.tasks.v1 import tasks_service_pb2 as tpb

from services.chat import app as chat_app
from tests.integration.chat.conftest import ChatEnv


async def test_everyday_conversation(chat_env: ChatEnv, user_id: str) -> None:
    settings = chat_env.settings()  # LLM_PROVIDER=offline
    await chat_app.migrate(settings)
    app = chat_app.build(settings, chat_env.jwt)  # the real provider from the factory
    port = await app.start()
    md = chat_env.md(user_id)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = chat_service_pb2_grpc.ChatServiceStub(channel)

            async def say(text: str, conversation_id: str = "") -> pb.ChatResponse:
                return await stub.Chat(
                    pb.ChatRequest(content=text, conversation_id=conversation_id),
                    metadata=md,
                    timeout=20,
                )

            first = await say("add buy milk and call the plumber")
            conversation = first.conversation_id
            assert [c.name for c in first.tool_calls] == ["add_task", "add_task"]
            assert all(c.ok for c in first.tool_calls)
            assert "milk" in first.content.lower() and "plumber" in first.content.lower()
            assert first.request_id.startswith("auto-"), "the server names the turn it keyed"
            again = await stub.Chat(
                pb.ChatRequest(
                    content="add buy milk and call the plumber", request_id=first.request_id
                ),
                metadata=md,
                timeout=20,
            )
            assert again == first, "retrying with the echoed key returns the stored answer"

            listed = await say("what's still open?", conversation)
            assert [c.name for c in listed.tool_calls] == ["list_tasks"]
            assert "1." in listed.content and "2." in listed.content

            done = await say("complete the second one", conversation)
            assert [c.name for c in done.tool_calls][-1] == "complete_task"
            assert done.tool_calls[-1].ok

            removed = await say("delete buy milk", conversation)
            assert [c.name for c in removed.tool_calls][-1] == "delete_task"

            tasks = (await chat_env.tasks_stub.ListTasks(tpb.ListTasksRequest(), metadata=md)).tasks
            assert len(tasks) == 1
            second_title = listed.content.split("2.", 1)[1].split("\n", 1)[0].strip().lower()
            assert tasks[0].title.lower() == second_title
            assert tasks[0].completed

            history = await stub.ListMessages(
                pb.ListMessagesRequest(conversation_id=conversation), metadata=md
            )
            assert [m.role for m in history.messages] == ["user", "assistant"] * 4
    finally:
        await app.stop(0)
