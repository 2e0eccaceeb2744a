"""A real TaskService (fresh PostgreSQL database) and the MCP server in front of it on a
real uvicorn at 127.0.0.1:<port 0>: served alone, or mounted by the gateway at /mcp.
The client is the MCP SDK's own, over streamable HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import httpx2
import pytest
import uvicorn
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from todochat.tasks.v1 import tasks_service_pb2_grpc

from services.gateway import app as gateway_app
from services.mcp import app as mcp_app
from services.servicekit.config import GatewaySettings, JwtSettings, McpSettings
from tests.integration.tasks.conftest import RunningTasks, start_tasks

Metadata = tuple[tuple[str, str], ...]


@asynccontextmanager
async def on_uvicorn(app: Any) -> AsyncIterator[int]:
    """Serves `app` (lifespan on, as in production) and yields its port."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # start-up failed: raise its error
        await asyncio.sleep(0.01)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        await task


def mcp_app_for(where: str, tasks_target: str, jwt: JwtSettings) -> Any:
    if where == "standalone":
        settings = McpSettings(
            host="127.0.0.1", port=0, tasks_target=tasks_target, tool_timeout_seconds=10
        )
        return mcp_app.build(settings, jwt)
    gateway = GatewaySettings(
        host="127.0.0.1",
        port=0,
        chat_target="127.0.0.1:1",  # not needed: MCP calls TaskService only
        tasks_target=tasks_target,
        cors_origins=(),
        default_timeout_seconds=10,
    )
    return gateway_app.with_mcp(gateway_app.build(gateway), gateway, jwt)


@dataclass
class McpEnv:
    url: str  # the MCP endpoint
    tasks: RunningTasks
    stub: tasks_service_pb2_grpc.TaskServiceStub
    token_for: Callable[[str], str]
    mode: str  # "legacy" (initialize handshake) or "auto" (the newest protocol it finds)

    def md(self, user: str) -> Metadata:
        return (("authorization", f"Bearer {self.token_for(user)}"),)

    @asynccontextmanager
    async def client(self, token: str | None) -> AsyncIterator[Client]:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=15) as http,
            Client(streamable_http_client(self.url, http_client=http), mode=self.mode) as client,
        ):
            yield client

    def client_for(self, user: str) -> Any:
        return self.client(self.token_for(user))


@pytest.fixture
async def tasks_service(
    postgres_url: str, jwt_settings: JwtSettings
) -> AsyncIterator[RunningTasks]:
    running = await start_tasks(postgres_url, jwt_settings)
    yield running
    await running.app.stop(0)


@pytest.fixture
async def tasks_stub(
    tasks_service: RunningTasks,
) -> AsyncIterator[tasks_service_pb2_grpc.TaskServiceStub]:
    async with grpc.aio.insecure_channel(tasks_service.target) as channel:
        yield tasks_service_pb2_grpc.TaskServiceStub(channel)


@pytest.fixture(params=["standalone", "gateway"])
def where(request: pytest.FixtureRequest) -> str:
    """Where the MCP server is served: `todochat serve mcp`, or the gateway's /mcp."""
    return str(request.param)


@pytest.fixture(params=["legacy", "auto"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def endpoint(
    where: str, tasks_service: RunningTasks, jwt_settings: JwtSettings
) -> AsyncIterator[str]:
    """The MCP endpoint's URL."""
    async with on_uvicorn(mcp_app_for(where, tasks_service.target, jwt_settings)) as port:
        yield f"http://127.0.0.1:{port}/mcp"


@pytest.fixture
def env(
    endpoint: str,
    mode: str,
    tasks_service: RunningTasks,
    tasks_stub: tasks_service_pb2_grpc.TaskServiceStub,
    token_for: Callable[[str], str],
) -> McpEnv:
    return McpEnv(endpoint, tasks_service, tasks_stub, token_for, mode)
