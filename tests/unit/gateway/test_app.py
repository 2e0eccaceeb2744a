"""services.gateway.app: build() from settings, serve() until SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket

import httpx
from todochat.tasks.v1 import resources_pb2, tasks_service_pb2

from services.gateway.app import build, serve
from services.servicekit.config import GatewaySettings
from tests.gateway_protos.backends import Backends, Recorder, Script


def _settings(tasks: str, chat: str, port: int = 0) -> GatewaySettings:
    return GatewaySettings(
        host="127.0.0.1",
        port=port,
        chat_target=chat,
        tasks_target=tasks,
        cors_origins=("http://localhost:3000",),
    )


async def test_build_serves_the_generated_routes(backends: Backends, recorder: Recorder) -> None:
    recorder.script = Script(
        reply=tasks_service_pb2.GetTaskResponse(task=resources_pb2.Task(id="t1", title="milk"))
    )
    app = build(_settings(backends.target, backends.target))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
            task = await http.get("/api/u1/tasks/t1", headers={"authorization": "Bearer x"})
            document = await http.get("/openapi.json")
            health = await http.get("/health")
    finally:
        await app.aclose()
    assert len(app.backends) == 1  # one channel per distinct target
    assert task.json()["title"] == "milk"
    assert document.json()["openapi"] == "3.1.0"
    assert health.json() == {"status": "healthy"}
    assert recorder.calls[0].metadata["authorization"] == "Bearer x"


async def test_build_uses_one_channel_per_target(backends: Backends) -> None:
    app = build(_settings(backends.target, "127.0.0.1:1"))
    try:
        assert [b.target for b in app.backends] == [backends.target, "127.0.0.1:1"]
        assert app.backends[1].services == ("todochat.chat.v1.ChatService",)
    finally:
        await app.aclose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_serve_stops_gracefully_on_sigterm(backends: Backends) -> None:
    port = _free_port()
    server = asyncio.create_task(serve(_settings(backends.target, backends.target, port)))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as http:
        for _ in range(200):
            try:
                index = await http.get("/")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.02)
        else:
            raise AssertionError("gateway did not start")
    assert index.json()["openapi"] == "/openapi.json"
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(server, 15)
    assert server.exception() is None
