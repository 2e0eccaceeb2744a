"""The MCP server as a process: `build(settings, jwt)` wires it, `serve()` runs it.

Stateless streamable HTTP with JSON responses: every request stands alone, so any
replica can answer any request and nothing lives in process memory between them
(the tools never need to call back into the client). Call `build()` inside the event
loop, which owns the gRPC channel to TaskService.
"""

from __future__ import annotations

import logging
from importlib import metadata

import uvicorn
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings

from services.chat.tasks_client import TasksClient
from services.mcp.asgi import MCP_PATH, McpApp
from services.mcp.server import build_server
from services.servicekit.asgi_server import SignalAwareServer
from services.servicekit.auth import TokenVerifier
from services.servicekit.config import JwtSettings, McpSettings

_log = logging.getLogger("todochat.mcp")
GRACE_SECONDS = 10
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def transport_security(host: str) -> TransportSecuritySettings | None:
    """DNS-rebinding protection on a loopback address, as the SDK itself would set it:
    a web page must not reach a local server through a name it controls."""
    if host not in _LOOPBACK:
        return None
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )


def _version() -> str:
    try:
        return metadata.version("todochat")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def build(settings: McpSettings, jwt: JwtSettings, path: str = MCP_PATH) -> McpApp:
    tasks = TasksClient(settings.tasks_target)
    server = build_server(tasks, settings.tool_timeout_seconds, version=_version())
    manager = StreamableHTTPSessionManager(
        app=server,
        json_response=True,
        stateless=True,
        security_settings=transport_security(settings.host),
    )
    return McpApp(manager, TokenVerifier(jwt), tasks, path)


async def serve(settings: McpSettings, jwt: JwtSettings) -> None:
    """Serves until SIGTERM/SIGINT, then drains in-flight requests and closes the channel."""
    app = build(settings, jwt)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        access_log=False,  # no request lines with credentials; tool calls are logged instead
        log_config=None,  # keep servicekit.logging's handlers
        timeout_graceful_shutdown=GRACE_SECONDS,
        server_header=False,
    )
    server = SignalAwareServer(config)
    _log.info(
        "mcp listening",
        extra={"address": f"http://{settings.host}:{settings.port}{MCP_PATH}"},
    )
    try:
        await server.serve()
    finally:
        await app.aclose()
        _log.info("mcp stopped")
