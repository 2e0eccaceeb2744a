"""services.gateway.mount: apps under a path prefix, their lifespan inside the gateway's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from services.gateway.mount import Mount, MountingGateway
from tests.gateway_protos.backends import Backends, gateway_for


@pytest.mark.parametrize(
    ("path", "matches"),
    [
        pytest.param("/mcp", True, id="exact"),
        pytest.param("/mcp/", True, id="trailing-slash"),
        pytest.param("/mcp/sub", True, id="below"),
        pytest.param("/mcpx", False, id="longer-name"),
        pytest.param("/api/mcp", False, id="elsewhere"),
        pytest.param("/", False, id="root"),
    ],
)
def test_mount_matches_its_prefix_only(path: str, matches: bool) -> None:
    assert Mount("/mcp", _Recording()).matches(path) is matches


class _Recording:
    """A mounted app that answers 204 and records its lifecycle."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self.events.append("started")
        yield
        self.events.append("stopped")

    async def aclose(self) -> None:
        self.events.append("closed")


async def test_mounted_app_gets_its_paths_and_runs_inside_the_lifespan(
    backends: Backends,
) -> None:
    mounted = _Recording()
    app = MountingGateway(gateway_for(backends), [Mount("/mcp", mounted)])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    assert mounted.events == ["started"]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
        to_mount = [(await http.post(p)).status_code for p in ("/mcp", "/mcp/x")]
        index = await http.get("/")
        elsewhere = await http.get("/mcpx")
    server.should_exit = True
    await task
    assert to_mount == [204, 204]
    assert mounted.paths == ["/mcp", "/mcp/x"]  # the path arrives unchanged
    assert index.json()["openapi"] == "/openapi.json"  # the gateway's own endpoints stay
    assert elsewhere.status_code == 404
    assert mounted.events == ["started", "stopped", "closed"]
