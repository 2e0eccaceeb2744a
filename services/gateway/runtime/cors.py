"""CORS as a plain ASGI middleware, with every header value computed at construction.

A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) from an
allowed origin is answered here, before routing, because no HttpRule matches OPTIONS
(the same reason Envoy's cors filter runs before the transcoder). A preflight from
another origin gets 403 and no CORS headers. Actual requests from an allowed origin
get `Access-Control-Allow-Origin` and `Access-Control-Expose-Headers` naming the
headers the browser may read: every `Grpc-Metadata-*` header the response carries
(such as `Grpc-Metadata-Next-Page-Token`) plus Retry-After, WWW-Authenticate and
X-Request-Id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from google.rpc import code_pb2, status_pb2

from services.gateway.runtime import errors
from services.gateway.runtime.stream import Receive, Send

ASGIApp = Any
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_ALWAYS_EXPOSED = ("Retry-After", "WWW-Authenticate", "X-Request-Id")


def _header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class CorsMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        origins: Iterable[str],
        allow_headers: Iterable[str],
        max_age_seconds: int,
    ) -> None:
        self._app = app
        self._origins = frozenset(o.rstrip("/") for o in origins)
        self._any = "*" in self._origins
        self._allow_headers = tuple(allow_headers)
        self._allow_lower = frozenset(h.lower() for h in self._allow_headers)
        self._preflight_headers = [
            (b"access-control-allow-methods", ", ".join(_METHODS).encode()),
            (b"access-control-max-age", str(max_age_seconds).encode()),
            (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        ]
        self._refusal = errors.status_body(
            status_pb2.Status(code=code_pb2.PERMISSION_DENIED, message="CORS origin not allowed")
        )

    def allowed(self, origin: str) -> bool:
        return self._any or origin.rstrip("/") in self._origins

    async def __call__(self, scope: Mapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        if origin is None:
            await self._app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method"):
            await self._preflight(scope, origin, send)
            return
        if not self.allowed(origin):
            await self._app(scope, receive, send)
            return
        await self._app(scope, receive, self._decorating(send, origin))

    def _decorating(self, send: Send, origin: str) -> Send:
        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                emitted = [
                    k.decode("latin-1")
                    for k, _ in headers
                    if k.lower().startswith(b"grpc-metadata-")
                ]
                exposed = ", ".join([*_ALWAYS_EXPOSED, *emitted])
                headers += [
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-expose-headers", exposed.encode("latin-1")),
                    (b"vary", b"Origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        return wrapped

    async def _preflight(self, scope: Mapping[str, Any], origin: str, send: Send) -> None:
        method = (_header(scope, b"access-control-request-method") or "").upper()
        requested = [
            h.strip()
            for h in (_header(scope, b"access-control-request-headers") or "").split(",")
            if h.strip()
        ]
        ok_headers = all(
            h.lower() in self._allow_lower or h.lower().startswith("grpc-metadata-")
            for h in requested
        )
        if not self.allowed(origin) or method not in _METHODS or not ok_headers:
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": self._refusal})
            return
        allow = list(self._allow_headers) + [
            h for h in requested if h.lower().startswith("grpc-metadata-")
        ]
        headers = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-headers", ", ".join(allow).encode("latin-1")),
            *self._preflight_headers,
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
