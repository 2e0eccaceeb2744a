"""One set of recording backends and one gateway for the conformance table."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

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
    transport = httpx.ASGITransport(app=gateway, client=("203.0.113.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http
