"""The todochat gateway: generated routes + the transcoding runtime + channels to the services.

`build(settings)` wires everything once (call it inside the event loop, which owns
the gRPC channels); `serve(settings)` runs it on uvicorn until SIGTERM/SIGINT, then
drains in-flight requests and closes the channels through the ASGI lifespan. Given the
token settings, `serve` also mounts the MCP server (services/mcp) at `/mcp`.
"""

from __future__ import annotations

import json
import logging
from importlib import metadata
from pathlib import Path

import grpc
import todochat
import uvicorn
from todochat.chat.v1 import chat_service_routes
from todochat.tasks.v1 import tasks_service_routes

from services.gateway.mount import Mount, MountingGateway
from services.gateway.runtime.app import GatewayApp
from services.gateway.runtime.options import Backend, GatewayOptions
from services.mcp import app as mcp_app
from services.mcp.asgi import MCP_PATH
from services.servicekit.asgi_server import SignalAwareServer
from services.servicekit.config import GatewaySettings, JwtSettings, McpSettings
from services.servicekit.metrics import Metrics
from services.servicekit.tracing import Tracing

_log = logging.getLogger("todochat.gateway")

# Per-request balancing across the pods behind a headless Service (design: Scaling out).
SERVICE_CONFIG = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})
CHANNEL_OPTIONS: tuple[tuple[str, str | int], ...] = (
    ("grpc.service_config", SERVICE_CONFIG),
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
)
GRACE_SECONDS = 10


def default_openapi_path() -> Path:
    """gen/openapi/ sits beside gen/python/, where the `todochat` package lives."""
    return Path(todochat.__file__).resolve().parents[2] / "openapi" / "todochat.openapi.json"


def _version() -> str:
    try:
        return metadata.version("todochat")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def options_from(settings: GatewaySettings) -> GatewayOptions:
    return GatewayOptions(
        max_body_bytes=settings.max_body_bytes,
        default_timeout_seconds=settings.default_timeout_seconds,
        cors_origins=settings.cors_origins,
        version=_version(),
        openapi_path=default_openapi_path(),
    )


def build(
    settings: GatewaySettings,
    options: GatewayOptions | None = None,
    *,
    metrics: Metrics | None = None,
    tracing: Tracing | None = None,
) -> GatewayApp:
    """The ASGI app, with one round_robin channel per distinct target."""
    by_target: dict[str, list[str]] = {}
    for target, services in (
        (settings.tasks_target, tasks_service_routes.SERVICES),
        (settings.chat_target, chat_service_routes.SERVICES),
    ):
        by_target.setdefault(target, []).extend(services)
    backends = [
        Backend(target, grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS), tuple(services))
        for target, services in by_target.items()
    ]
    routes = [*tasks_service_routes.ROUTES, *chat_service_routes.ROUTES]
    return GatewayApp(
        routes,
        backends,
        options or options_from(settings),
        metrics=metrics,
        tracing=tracing or Tracing.for_otlp("todochat-gateway", settings.otlp_endpoint),
    )


def with_mcp(gateway: GatewayApp, settings: GatewaySettings, jwt: JwtSettings) -> MountingGateway:
    """The gateway plus the MCP server at `/mcp`, calling the same TaskService."""
    mcp = McpSettings(
        host=settings.host,
        port=settings.port,
        tasks_target=settings.tasks_target,
        tool_timeout_seconds=settings.default_timeout_seconds,
    )
    return MountingGateway(gateway, [Mount(MCP_PATH, mcp_app.build(mcp, jwt))])


async def serve(settings: GatewaySettings, jwt: JwtSettings | None = None) -> None:
    """Serves until SIGTERM/SIGINT, then drains in-flight requests and closes the channels.
    With `jwt` (how the MCP endpoint verifies tokens), `/mcp` serves the task tools too."""
    metrics = Metrics("gateway")
    gateway = build(settings, metrics=metrics)
    metrics_server = (
        metrics.serve(settings.host, settings.metrics_port)
        if settings.metrics_port is not None
        else None
    )
    app: GatewayApp | MountingGateway = (
        with_mcp(gateway, settings, jwt) if jwt is not None else gateway
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        access_log=False,  # the mux writes its own access line, without credentials
        log_config=None,  # keep servicekit.logging's handlers
        timeout_graceful_shutdown=GRACE_SECONDS,
        server_header=False,
    )
    server = SignalAwareServer(config)
    _log.info("gateway listening", extra={"address": f"{settings.host}:{settings.port}"})
    try:
        await server.serve()
    finally:
        await app.aclose()
        if metrics_server is not None:
            metrics_server.stop()
        _log.info("gateway stopped")
