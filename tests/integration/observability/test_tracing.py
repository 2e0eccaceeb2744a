"""A caller's W3C traceparent becomes the parent of the service's server span."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from todochat.tasks.v1 import tasks_service_pb2 as pb
from todochat.tasks.v1 import tasks_service_pb2_grpc

from services.servicekit.config import JwtSettings, ServerSettings, TasksSettings
from services.servicekit.tracing import Tracing
from services.tasks import app as tasks_app

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


async def test_server_span_joins_the_callers_trace(
    sqlite_url: str, jwt_settings: JwtSettings, token_for: Callable[[str], str]
) -> None:
    exporter = InMemorySpanExporter()
    settings = TasksSettings(ServerSettings("127.0.0.1", 0), sqlite_url)
    await tasks_app.migrate(settings)
    app = tasks_app.build(
        settings, jwt_settings, tracing=Tracing.with_exporter("todochat-tasks", exporter)
    )
    await app.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.server.port}") as channel:
            stub = tasks_service_pb2_grpc.TaskServiceStub(channel)
            await stub.AddTask(
                pb.AddTaskRequest(title="traced"),
                metadata=(
                    ("authorization", f"Bearer {token_for('t')}"),
                    ("traceparent", f"00-{TRACE_ID}-{PARENT_ID}-01"),
                ),
            )
    finally:
        await app.stop(0)
    spans = [s for s in exporter.get_finished_spans() if s.name.endswith("/AddTask")]
    assert len(spans) == 1
    span = spans[0]
    assert span.kind is SpanKind.SERVER
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None and format(span.parent.span_id, "016x") == PARENT_ID
    assert span.attributes is not None and span.attributes["rpc.grpc.status_code"] == "OK"
    assert span.resource.attributes["service.name"] == "todochat-tasks"


def test_disabled_tracing_injects_nothing() -> None:
    assert Tracing.disabled().outgoing_metadata() == ()
