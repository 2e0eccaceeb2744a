"""The assembled gateway: CORS, body limit, deadlines, built-in endpoints, options."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from grpc_health.v1 import health_pb2

from services.gateway.runtime.app import GatewayApp
from services.gateway.runtime.options import GatewayOptions
from tests.gateway_protos.backends import Backends, Recorder, gateway_for

ORIGIN = "http://localhost:3000"


@pytest.fixture
async def configured(backends: Backends, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    document = tmp_path / "doc.json"
    document.write_text('{"openapi": "3.1.0"}', encoding="utf-8")
    options = GatewayOptions(
        cors_origins=(ORIGIN,),
        max_body_bytes=1024,
        default_timeout_seconds=30,
        openapi_path=document,
        name="todochat",
        version="9.9.9",
        reject_unknown_fields=True,
        reject_unknown_query_parameters=True,
    )
    app = gateway_for(backends, options)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
        yield http
    await app.aclose()


async def test_preflight_from_an_allowed_origin(configured: httpx.AsyncClient) -> None:
    response = await configured.options(
        "/api/u1/tasks",
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type, x-request-id, "
            "grpc-timeout",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "PATCH" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"]
    for header in ("Authorization", "Content-Type", "X-Request-Id", "Grpc-Timeout"):
        assert header in allowed


async def test_preflight_from_another_origin_is_refused(configured: httpx.AsyncClient) -> None:
    response = await configured.options(
        "/api/u1/tasks",
        headers={"origin": "http://evil.test", "access-control-request-method": "GET"},
    )
    assert response.status_code == 403
    assert not any(h.startswith("access-control-") for h in response.headers)
    assert response.json()["code"] == 7


async def test_actual_request_exposes_metadata_headers(
    configured: httpx.AsyncClient, recorder: Recorder
) -> None:
    from tests.gateway_protos.backends import Script

    recorder.script = Script(header_metadata=(("next-page-token", "p2"),))
    allowed = await configured.get("/api/u1/tasks", headers={"origin": ORIGIN})
    other = await configured.get("/api/u1/tasks", headers={"origin": "http://evil.test"})
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    exposed = allowed.headers["access-control-expose-headers"]
    assert "Grpc-Metadata-Next-Page-Token" in exposed and "Retry-After" in exposed
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_body_over_the_limit_is_413(
    configured: httpx.AsyncClient, recorder: Recorder, chunked: bool
) -> None:
    payload = json.dumps({"content": "x" * 2000}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 500):
            yield payload[start : start + 500]

    response = await configured.post("/api/chat", content=chunks() if chunked else payload)
    assert response.status_code == 413
    assert response.json() == {
        "code": 8,
        "message": "request body exceeds the limit of 1024 bytes",
        "details": [],
    }
    assert recorder.calls == []


async def test_grpc_timeout_becomes_the_deadline(
    configured: httpx.AsyncClient, recorder: Recorder
) -> None:
    await configured.get("/v1/probes/a", headers={"grpc-timeout": "2S"})
    await configured.get("/v1/probes/b", headers={"grpc-timeout": "5H"})
    await configured.get("/v1/probes/c")
    short, capped, default = (c.time_remaining for c in recorder.calls)
    assert short is not None and 1.0 < short <= 2.5  # the wire rounds the deadline up
    assert capped is not None and 25 < capped <= 30.5  # min(Grpc-Timeout, the default)
    assert default is not None and 25 < default <= 30.5


async def test_strict_options_reject_unknown_fields(configured: httpx.AsyncClient) -> None:
    body = await configured.post("/v1/probes/a", json={"bogus": 1})
    query = await configured.get("/v1/probes/a?bogus=1")
    assert body.status_code == 400 and "bogus" in body.json()["message"]
    assert query.json() == {
        "code": 3,
        "message": "unknown query parameter 'bogus'",
        "details": [],
    }


async def test_index_and_openapi(configured: httpx.AsyncClient) -> None:
    index = await configured.get("/")
    document = await configured.get("/openapi.json")
    assert index.json() == {"name": "todochat", "version": "9.9.9", "openapi": "/openapi.json"}
    assert document.json() == {"openapi": "3.1.0"}


async def test_health_follows_every_backend(client: httpx.AsyncClient, backends: Backends) -> None:
    healthy = await client.get("/health")
    await backends.health.set(
        "todochat.chat.v1.ChatService", health_pb2.HealthCheckResponse.NOT_SERVING
    )
    try:
        unhealthy = await client.get("/health")
    finally:
        await backends.health.set(
            "todochat.chat.v1.ChatService", health_pb2.HealthCheckResponse.SERVING
        )
    assert healthy.status_code == 200
    assert healthy.json() == {"status": "healthy"}
    assert unhealthy.status_code == 503
    assert unhealthy.json()["status"] == "unhealthy"
    assert unhealthy.json()["backends"]["todochat.chat.v1.ChatService"] == "NOT_SERVING"


async def test_health_with_a_backend_down(backends: Backends) -> None:
    dead = Backends(backends.server, "127.0.0.1:1", backends.recorder, backends.health)
    app = gateway_for(dead, GatewayOptions(health_timeout_seconds=0.5))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
            response = await http.get("/health")
            call = await http.get("/v1/probes/a")
    finally:
        await app.aclose()
    assert response.status_code == 503
    assert set(response.json()["backends"].values()) <= {"UNAVAILABLE", "DEADLINE_EXCEEDED"}
    assert call.status_code == 503
    assert call.json()["code"] == 14


async def test_lifespan_shutdown_closes_the_channels(backends: Backends) -> None:
    app: GatewayApp = gateway_for(backends)
    events = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict[str, str]:
        return next(events)

    async def send(message: dict[str, str]) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan"}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    channel = app.backends[0].channel
    with pytest.raises(Exception, match="closed"):
        await channel.unary_unary("/x.Y/Z")(b"", timeout=1)
