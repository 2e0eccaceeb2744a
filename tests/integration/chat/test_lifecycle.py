"""Operational behaviour: migrations coexist, health follows the database, stop releases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from todochat.chat.v1 import chat_service_pb2 as pb
from todochat.chat.v1 import chat_service_pb2_grpc

from services.chat import app as chat_app
from services.servicekit.config import ChatSettings, JwtSettings, LlmSettings, ServerSettings
from tests.conftest import ThrowawayPostgres, _dsn, _free_port
from tests.integration.chat.scripted import ScriptedProvider

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE = "todochat.chat.v1.ChatService"


async def _health(target: str) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        response = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=SERVICE), timeout=2
        )
        return int(response.status)


async def _wait_for(target: str, status: int, within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while (current := await _health(target)) != status:
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"health stayed {current}, wanted {status}")
        await asyncio.sleep(0.2)


def _settings(database_url: str) -> ChatSettings:
    return ChatSettings(
        server=ServerSettings(host="127.0.0.1", port=0, grace_seconds=1),
        database_url=database_url,
        tasks_target=f"127.0.0.1:{_free_port()}",
        llm=LlmSettings(provider="offline"),
    )


async def test_migrations_are_idempotent_and_use_their_own_version_table(
    postgres_url: str,
) -> None:
    settings = _settings(postgres_url)
    await chat_app.migrate(settings)
    await chat_app.migrate(settings)
    connection = await asyncpg.connect(_dsn(postgres_url))
    try:
        version = await connection.fetchval("SELECT version_num FROM alembic_version_chat")
        tables = {
            r["tablename"]
            for r in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname='public'"
            )
        }
        indexes = {
            r["indexname"]
            for r in await connection.fetch(
                "SELECT indexname FROM pg_indexes WHERE schemaname='public'"
            )
        }
    finally:
        await connection.close()
    assert version == "0001_chat"
    assert {"chat_conversations", "chat_messages", "chat_turns", "chat_rate_counters"} <= tables
    assert "alembic_version" not in tables, "never the shared default version table"
    assert {
        "ix_chat_conversations_user_updated",
        "uq_chat_messages_conversation_id_position",
    } <= indexes


async def test_migrations_run_on_sqlite_and_a_turn_is_stored(
    sqlite_url: str, jwt_settings: JwtSettings, token_for: Callable[[str], str]
) -> None:
    settings = _settings(sqlite_url)
    await chat_app.migrate(settings)
    provider = ScriptedProvider()
    app = chat_app.build(settings, jwt_settings, provider=provider)
    port = await app.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = chat_service_pb2_grpc.ChatServiceStub(channel)
            md = (("authorization", f"Bearer {token_for('sqlite-user')}"),)
            answer = await stub.Chat(pb.ChatRequest(content="hi", request_id="k"), metadata=md)
            again = await stub.Chat(pb.ChatRequest(content="hi", request_id="k"), metadata=md)
            assert again == answer and answer.content == "echo: hi"
            listed = await stub.ListConversations(pb.ListConversationsRequest(), metadata=md)
            assert [c.message_count for c in listed.conversations] == [2]
    finally:
        await app.stop(0)
    assert provider.closed, "stop closes the model provider"


async def test_health_is_not_serving_while_the_database_is_down(
    private_postgres: ThrowawayPostgres,
    jwt_settings: JwtSettings,
    token_for: Callable[[str], str],
) -> None:
    settings = _settings(private_postgres.url)
    await chat_app.migrate(settings)
    app = chat_app.build(settings, jwt_settings, provider=ScriptedProvider())
    app.server._interval = 0.2
    port = await app.start()
    target = f"127.0.0.1:{port}"
    md = (("authorization", f"Bearer {token_for('u1')}"),)
    try:
        assert await _health(target) == SERVING
        private_postgres.stop()
        await _wait_for(target, NOT_SERVING)
        async with grpc.aio.insecure_channel(target) as channel:
            stub = chat_service_pb2_grpc.ChatServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.Chat(pb.ChatRequest(content="hi"), metadata=md, timeout=10)
            assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
        private_postgres.start()
        await _wait_for(target, SERVING)
    finally:
        await app.stop(0)
