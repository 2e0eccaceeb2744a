"""The gateway as one plain ASGI application, assembled once at construction.

Stack, outermost first: lifespan handling (closes the channels on shutdown), CORS,
the built-in endpoints (`GET /health`, `GET /`, `GET /openapi.json`, and the chat page
with its files under `/chat`), then the mux. Built-ins are matched before the generated
routes, which never use these paths.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.gateway.runtime.cors import CorsMiddleware
from services.gateway.runtime.mux import ServeMux
from services.gateway.runtime.options import Backend, GatewayOptions
from services.gateway.runtime.route import Route
from services.gateway.runtime.stream import Receive, Send
from services.gateway.static.assets import ChatPage
from services.servicekit.metrics import Metrics
from services.servicekit.tracing import Tracing

_log = logging.getLogger("todochat.gateway")
_SERVING = health_pb2.HealthCheckResponse.SERVING


async def _check(backend: Backend, service: str, deadline_seconds: float) -> str:
    stub = health_pb2_grpc.HealthStub(backend.channel)
    try:
        reply = await stub.Check(
            health_pb2.HealthCheckRequest(service=service), timeout=deadline_seconds
        )
    except grpc.aio.AioRpcError as exc:
        return str(exc.code().name)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


class GatewayApp:
    """ASGI entry point. `aclose()` (or lifespan shutdown) closes the backend channels."""

    def __init__(
        self,
        routes: Iterable[Route],
        backends: Iterable[Backend],
        options: GatewayOptions,
        *,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.options = options
        self.backends = tuple(backends)
        self.metrics = metrics
        self.tracing = tracing or Tracing.disabled("todochat-gateway")
        channels = {s: b.channel for b in self.backends for s in b.services}
        self.mux = ServeMux(routes, channels, options, metrics=metrics, tracing=self.tracing)
        self._openapi: bytes | None = None
        if options.openapi_path is not None:
            try:
                self._openapi = options.openapi_path.read_bytes()
            except OSError as exc:
                _log.warning("OpenAPI document not readable", extra={"error": str(exc)})
        self._index = json.dumps(
            {"name": options.name, "version": options.version, "openapi": "/openapi.json"}
        ).encode()
        self._chat_page = ChatPage()
        self._handler = CorsMiddleware(
            self._dispatch,
            origins=options.cors_origins,
            allow_headers=options.cors_allow_headers,
            max_age_seconds=options.cors_max_age_seconds,
        )
        self._closed = False

    async def __call__(self, scope: Mapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self._handler(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        for backend in self.backends:
            await backend.channel.close()
        self.tracing.shutdown()

    async def health(self) -> tuple[bool, dict[str, str]]:
        """grpc.health.v1 Check for every service on every backend, concurrently."""
        pairs = [(b, s) for b in self.backends for s in b.services]
        results = await asyncio.gather(
            *(_check(b, s, self.options.health_timeout_seconds) for b, s in pairs)
        )
        states = {s: r for (_, s), r in zip(pairs, results, strict=True)}
        return all(r == "SERVING" for r in results), states

    async def _dispatch(self, scope: Mapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if ChatPage.handles(scope["path"]):
            await self._chat_page(scope, send)
            return
        if scope["method"] == "GET":
            path = scope["path"]
            if path == "/health":
                healthy, states = await self.health()
                body = (
                    {"status": "healthy"}
                    if healthy
                    else {"status": "unhealthy", "backends": states}
                )
                await _json(send, 200 if healthy else 503, json.dumps(body).encode())
                return
            if path == "/":
                await _json(send, 200, self._index)
                return
            if path == "/openapi.json" and self._openapi is not None:
                await _json(send, 200, self._openapi)
                return
        await self.mux(scope, receive, send)


async def _json(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
