"""The MCP server's HTTP face: one endpoint, behind a bearer-token check.

`POST/GET/DELETE {path}` is the MCP streamable-HTTP endpoint. A request without a
bearer token, or with one that does not verify, gets 401 and a `WWW-Authenticate:
Bearer` challenge (RFC 6750, which the MCP authorization spec points HTTP servers to)
before the MCP transport sees it: nothing is parsed and no tool runs. `GET /health`
answers when the app is served alone; the gateway only routes `{path}` here.

The SDK's session manager must be running before it serves a request; `running()` is
that context, entered by this app's own lifespan, or by the gateway's when mounted.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.types import Receive, Scope, Send

from services.chat.tasks_client import TasksClient
from services.servicekit.auth import TokenVerifier, bearer_from_metadata
from services.servicekit.errors import Unauthenticated

MCP_PATH = "/mcp"
_REALM = 'Bearer realm="todochat"'


class McpApp:
    """ASGI app; `aclose()` (or lifespan shutdown) closes the TaskService channel."""

    def __init__(
        self,
        manager: StreamableHTTPSessionManager,
        verifier: TokenVerifier,
        tasks: TasksClient,
        path: str = MCP_PATH,
    ) -> None:
        self._manager = manager
        self._verifier = verifier
        self._tasks = tasks
        self.path = path
        self._closed = False

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self._manager.run():
            yield

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._tasks.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path in (self.path, self.path + "/"):
            if await self._authenticated(scope, send):
                await self._manager.handle_request(scope, receive, send)
        elif path == "/health" and scope["method"] in ("GET", "HEAD"):
            await _json(send, 200, {"status": "healthy"})
        else:
            await _json(send, 404, {"error": "not_found", "mcp_endpoint": self.path})

    async def _authenticated(self, scope: Scope, send: Send) -> bool:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        try:
            await self._verifier.verify(bearer_from_metadata(headers))
        except Unauthenticated as exc:
            if exc.reason == "TOKEN_MISSING":
                # RFC 6750 §3.1: no error code when the client sent no credentials at all.
                challenge = _REALM
                body = {"error_description": "send the header 'Authorization: Bearer <token>'"}
            else:
                description = exc.message.replace('"', "'")
                challenge = f'{_REALM}, error="invalid_token", error_description="{description}"'
                body = {"error": "invalid_token", "error_description": exc.message}
            await _json(send, 401, body, (b"www-authenticate", challenge.encode()))
            return False
        return True

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        try:
            async with self.running():
                await send({"type": "lifespan.startup.complete"})
                await receive()  # lifespan.shutdown
        finally:
            await self.aclose()
        await send({"type": "lifespan.shutdown.complete"})


async def _json(send: Send, status: int, body: dict[str, Any], *extra: tuple[bytes, bytes]) -> None:
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"cache-control", b"no-store"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
