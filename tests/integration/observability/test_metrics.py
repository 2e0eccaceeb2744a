"""A served call moves the RPC counters; /metrics parses as Prometheus text."""

from __future__ import annotations

import contextlib
import urllib.request
from collections.abc import Callable

import grpc
from prometheus_client.parser import text_string_to_metric_families
from todochat.tasks.v1 import tasks_service_pb2 as pb
from todochat.tasks.v1 import tasks_service_pb2_grpc

from services.servicekit.config import JwtSettings, ServerSettings, TasksSettings
from services.tasks import app as tasks_app


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_rpc_counters_histograms_and_pool_gauges(
    sqlite_url: str, jwt_settings: JwtSettings, token_for: Callable[[str], str]
) -> None:
    settings = TasksSettings(ServerSettings("127.0.0.1", 0, metrics_port=0), sqlite_url)
    await tasks_app.migrate(settings)
    app = tasks_app.build(settings, jwt_settings)
    await app.start()
    try:
        metrics_port = app.server.metrics_port
        assert metrics_port
        md = (("authorization", f"Bearer {token_for('m')}"),)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.server.port}") as channel:
            stub = tasks_service_pb2_grpc.TaskServiceStub(channel)
            await stub.AddTask(pb.AddTaskRequest(title="counted"), metadata=md)
            await stub.AddTask(pb.AddTaskRequest(title="counted too"), metadata=md)
            with contextlib.suppress(grpc.aio.AioRpcError):
                await stub.GetTask(pb.GetTaskRequest(task_id="nope"), metadata=md)
        samples = _scrape(metrics_port)
        add = (
            ("code", "OK"),
            ("method", "/todochat.tasks.v1.TaskService/AddTask"),
            ("service", "tasks"),
        )
        assert samples[("todochat_rpc_requests_total", add)] == 2
        bad = (
            ("code", "INVALID_ARGUMENT"),
            ("method", "/todochat.tasks.v1.TaskService/GetTask"),
            ("service", "tasks"),
        )
        assert samples[("todochat_rpc_requests_total", bad)] == 1
        count = (
            "todochat_rpc_duration_seconds_count",
            (("method", "/todochat.tasks.v1.TaskService/AddTask"), ("service", "tasks")),
        )
        assert samples[count] == 2
        assert (
            "todochat_db_pool_connections",
            (("database", "tasks"), ("state", "checked_out")),
        ) in samples
    finally:
        await app.stop(0)
