"""Recording backends, a gateway over them, and that gateway on a real uvicorn (port 0)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from services.gateway.runtime.app import GatewayApp
from tests.gateway_protos.backends import Backends, Recorder, gateway_for, start_backends


@pytest.fixture(scope="session")
async def backends() -> AsyncIterator[Backends]:
    started = await start_backends()
    yield started
    await started.server.stop(None)


@pytest.fixture(scope="session")
async def gateway(backends: Backends) -> AsyncIterator[GatewayApp]:
    app = gateway_for(backends)
    yield app
    await app.aclose()


@pytest.fixture
def recorder(backends: Backends) -> Recorder:
    backends.recorder.reset()
    return backends.recorder


@pytest.fixture
async def client(gateway: GatewayApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http


@pytest.fixture(scope="session")
async def served(gateway: GatewayApp) -> AsyncIterator[str]:
    """The gateway on uvicorn at 127.0.0.1:<free port>; yields its base URL."""
    config = uvicorn.Config(gateway, host="127.0.0.1", port=0, lifespan="off", log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
