"""Other ASGI apps the gateway serves beside its routes, each under its own path.

A mounted app gets every request under its prefix, with the path unchanged, ahead
of CORS and the generated routes (the MCP endpoint checks its own Host and Origin
headers). Its lifespan runs inside the gateway's: `running()` is entered at start-up
and left at shutdown, which the MCP SDK's session manager needs before it can serve.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from typing import Any, Protocol

from services.gateway.runtime.app import GatewayApp
from services.gateway.runtime.stream import Receive, Send


class MountedApp(Protocol):
    # Any: a mounted app may name the same ASGI messages with its own framework's types.
    def __call__(self, scope: Any, receive: Any, send: Any) -> Awaitable[None]: ...

    def running(self) -> AbstractAsyncContextManager[None]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Mount:
    prefix: str  # e.g. "/mcp": matches "/mcp" and "/mcp/…", never "/mcpx"
    app: MountedApp

    def matches(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")


class MountingGateway:
    """The gateway plus its mounts, as one ASGI app; `aclose()` closes all of them."""

    def __init__(self, gateway: GatewayApp, mounts: Sequence[Mount]) -> None:
        self.gateway = gateway
        self.mounts = tuple(mounts)

    async def __call__(self, scope: Mapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "http":
            for mount in self.mounts:
                if mount.matches(scope["path"]):
                    await mount.app(scope, receive, send)
                    return
        await self.gateway(scope, receive, send)

    async def aclose(self) -> None:
        await self.gateway.aclose()
        for mount in self.mounts:
            await mount.app.aclose()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        try:
            async with AsyncExitStack() as stack:
                for mount in self.mounts:
                    await stack.enter_async_context(mount.app.running())
                await send({"type": "lifespan.startup.complete"})
                await receive()  # lifespan.shutdown
        finally:
            await self.aclose()
        await send({"type": "lifespan.shutdown.complete"})
