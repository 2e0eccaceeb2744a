"""The whole REST face in this process for fuzzing: TaskService, ChatService with the
offline TodoBot (no rate limit, so turns are never refused with 429) and the Python
gateway on uvicorn, all on 127.0.0.1 port 0 over one fresh PostgreSQL database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import uvicorn

from services.chat import app as chat_app
from services.gateway import app as gateway_app
from services.servicekit.config import (
    ChatSettings,
    GatewaySettings,
    JwtSettings,
    LlmSettings,
    ServerSettings,
)
from tests.integration.tasks.conftest import start_tasks


@dataclass(frozen=True)
class Gateway:
    base_url: str


@pytest.fixture
async def gateway(postgres_url: str, jwt_settings: JwtSettings) -> AsyncIterator[Gateway]:
    tasks = await start_tasks(postgres_url, jwt_settings)
    chat_settings = ChatSettings(
        server=ServerSettings(host="127.0.0.1", port=0, grace_seconds=2),
        database_url=postgres_url,
        tasks_target=tasks.target,
        llm=LlmSettings(provider="offline", timeout_seconds=10),
        rate_limit_per_minute=0,
    )
    await chat_app.migrate(chat_settings)
    chat = chat_app.build(chat_settings, jwt_settings)
    chat_port = await chat.start()
    app = gateway_app.build(
        GatewaySettings(
            host="127.0.0.1",
            port=0,
            chat_target=f"127.0.0.1:{chat_port}",
            tasks_target=tasks.target,
            cors_origins=(),
        )
    )
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="off", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Gateway(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await serving
        await app.aclose()
        await chat.stop(0)
        await tasks.app.stop(0)
