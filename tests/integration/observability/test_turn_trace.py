"""One REST chat turn is one trace: gateway → ChatService → TaskService.

Each service gets its own tracer provider (as separate processes would), all writing to
one in-memory exporter; the W3C traceparent must carry the trace across both hops. The
same turn also moves the gateway's HTTP metrics.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.chat import app as chat_app
from services.gateway import app as gateway_app
from services.servicekit.config import (
    ChatSettings,
    GatewaySettings,
    JwtSettings,
    LlmSettings,
    ServerSettings,
)
from services.servicekit.metrics import Metrics
from services.servicekit.tracing import Tracing
from tests.integration.tasks.conftest import start_tasks


async def test_one_rest_turn_is_one_trace(
    postgres_url: str, jwt_settings: JwtSettings, token_for: Callable[[str], str]
) -> None:
    exporter = InMemorySpanExporter()
    tasks = await start_tasks(postgres_url, jwt_settings)
    await tasks.app.stop(0)  # restart it with tracing on, on the migrated database
    from services.tasks import app as tasks_app

    traced_tasks = tasks_app.build(
        tasks.settings, jwt_settings, tracing=Tracing.with_exporter("todochat-tasks", exporter)
    )
    tasks_port = await traced_tasks.start()
    chat_settings = ChatSettings(
        server=ServerSettings("127.0.0.1", 0),
        database_url=postgres_url,
        tasks_target=f"127.0.0.1:{tasks_port}",
        llm=LlmSettings(provider="offline"),
        rate_limit_per_minute=0,
    )
    await chat_app.migrate(chat_settings)
    chat = chat_app.build(
        chat_settings, jwt_settings, tracing=Tracing.with_exporter("todochat-chat", exporter)
    )
    chat_port = await chat.start()
    metrics = Metrics("gateway")
    gateway = gateway_app.build(
        GatewaySettings(
            host="127.0.0.1",
            port=0,
            chat_target=f"127.0.0.1:{chat_port}",
            tasks_target=f"127.0.0.1:{tasks_port}",
            cors_origins=(),
        ),
        metrics=metrics,
        tracing=Tracing.with_exporter("todochat-gateway", exporter),
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway), base_url="http://gw"
        ) as client:
            response = await client.post(
                "/api/chat",
                json={"content": "add water the plants"},
                headers={"Authorization": f"Bearer {token_for('tracer')}"},
            )
        assert response.status_code == 200, response.text
        assert response.json()["tool_calls"][0]["name"] == "add_task"
    finally:
        await gateway.aclose()
        await chat.stop(0)
        await traced_tasks.stop(0)

    spans = exporter.get_finished_spans()
    by_service: dict[str, list[object]] = {}
    for span in spans:
        by_service.setdefault(str(span.resource.attributes["service.name"]), []).append(span)
    assert set(by_service) == {"todochat-gateway", "todochat-chat", "todochat-tasks"}
    assert len({span.context.trace_id for span in spans}) == 1, "one turn, one trace"
    gateway_span = next(
        s for s in spans if s.resource.attributes["service.name"] == "todochat-gateway"
    )
    chat_span = next(s for s in spans if s.name.endswith("/Chat"))
    add_span = next(s for s in spans if s.name.endswith("/AddTask"))
    assert chat_span.parent is not None and chat_span.parent.span_id == gateway_span.context.span_id
    assert add_span.parent is not None and add_span.parent.span_id == chat_span.context.span_id

    text = metrics.render().decode()
    assert 'todochat_http_requests_total{method="POST",route="/api/chat",status="200"} 1.0' in text
