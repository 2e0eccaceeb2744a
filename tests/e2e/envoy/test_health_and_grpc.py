"""Envoy's own endpoints, a backend that is down, and native gRPC on the REST port."""

from __future__ import annotations

import socket
from collections.abc import Callable

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from todochat.tasks.v1 import tasks_service_pb2, tasks_service_pb2_grpc

from tests.e2e.envoy.conftest import Stack
from tests.envoy_harness import running_envoy


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_health_is_healthy_when_every_cluster_has_a_healthy_host(
    client: httpx.AsyncClient,
) -> None:
    health = await client.get("/health")
    ready = await client.get("/ready")

    assert health.status_code == 200
    assert health.json() == {"status": "healthy"}, "the gateway's /health body"
    assert ready.status_code == 200


async def test_a_backend_that_is_down(
    stack: Stack, token_for: Callable[[str], str], user_id: str
) -> None:
    headers = {"authorization": f"Bearer {token_for(user_id)}"}
    async with (
        running_envoy(stack.tasks.port, _closed_port()) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=20) as client,
    ):
        health = await client.get("/health")
        ready = await client.get("/ready")
        tasks = await client.get(f"/api/{user_id}/tasks", headers=headers)
        chat = await client.post("/api/chat", json={"content": "hi"}, headers=headers)

    # grpc-gateway's /health adds which backend is down; Envoy's says only that one is.
    assert (health.status_code, health.json()) == (503, {"status": "unhealthy"})
    assert ready.status_code == 200, "Envoy itself is ready: only /health follows backends"
    assert tasks.status_code == 200, "the other service is still served"
    assert chat.status_code == 503
    body = chat.json()
    assert body["code"] == 14 and body["details"] == []


async def test_native_grpc_passes_through_the_same_port(
    stack: Stack, token_for: Callable[[str], str], user_id: str
) -> None:
    target = stack.base_url.removeprefix("http://")
    metadata = (("authorization", f"Bearer {token_for(user_id)}"),)
    async with grpc.aio.insecure_channel(target) as channel:
        stub = tasks_service_pb2_grpc.TaskServiceStub(channel)
        added = await stub.AddTask(
            tasks_service_pb2.AddTaskRequest(title="over grpc"), metadata=metadata, timeout=10
        )
        # ListTasks has a response_body route: the Lua filter must leave gRPC alone.
        listed = await stub.ListTasks(
            tasks_service_pb2.ListTasksRequest(), metadata=metadata, timeout=10
        )
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=10
            )

    assert [t.id for t in listed.tasks] == [added.task.id]
    assert listed.total_size == 1
    # Only the transcoded services are routed; anything else ends at the catch-all.
    assert missing.value.code() == grpc.StatusCode.UNIMPLEMENTED
