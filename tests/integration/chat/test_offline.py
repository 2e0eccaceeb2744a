"""The whole path with the model the settings choose (offline: no key, no network):
settings → provider factory → agent loop → TaskService as the user → stored answer."""

from __future__ import annotations

import grpc
from todochat.chat.v1 import chat_service_pb2 as pb
from todochat.chat.v1 import chat_service_pb2_grpc
from todochat.tasks.v1 import tasks_service_pb2 as tasks_pb

from services.chat import app as chat_app
from tests.integration.chat.conftest import ChatEnv


async def test_offline_todobot_adds_lists_and_completes_through_task_service(
    chat_env: ChatEnv, user_id: str
) -> None:
    settings = chat_env.settings()
    assert settings.llm.provider == "offline"
    await chat_app.migrate(settings)
    app = chat_app.build(settings, chat_env.jwt)
    port = await app.start()
    md = chat_env.md(user_id)
    try:
        assert app.provider.name == "offline"
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = chat_service_pb2_grpc.ChatServiceStub(channel)
            added = await stub.Chat(
                pb.ChatRequest(content="add buy milk and call mom"), metadata=md, timeout=20
            )
            cid = added.conversation_id
            assert [c.name for c in added.tool_calls] == ["add_task", "add_task"]
            assert all(c.ok for c in added.tool_calls)
            listed = await stub.Chat(
                pb.ChatRequest(content="show my tasks", conversation_id=cid), metadata=md
            )
            assert [c.name for c in listed.tool_calls] == ["list_tasks"]
            assert "1. Buy milk" in listed.content and "2. Call mom" in listed.content
            done = await stub.Chat(
                pb.ChatRequest(content="complete buy milk", conversation_id=cid), metadata=md
            )
            assert "complete_task" in [c.name for c in done.tool_calls]
        tasks = (
            await chat_env.tasks_stub.ListTasks(tasks_pb.ListTasksRequest(), metadata=md)
        ).tasks
        assert {t.title: t.completed for t in tasks} == {"Buy milk": True, "Call mom": False}
        assert (
            app.metrics.registry.get_sample_value(
                "todochat_tool_calls_total", {"tool": "add_task", "outcome": "ok"}
            )
            == 2
        )
        assert app.metrics.registry.get_sample_value(
            "todochat_llm_calls_total", {"provider": "offline", "outcome": "ok"}
        )
    finally:
        await app.stop(0)
