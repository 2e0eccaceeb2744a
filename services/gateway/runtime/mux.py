"""The transcoding mux: match a route, build the gRPC request, call, write the answer.

Request building follows grpc-gateway's generated handlers: decode the body (all of
it for `body: "*"`, into one field for `body: "field"`), then set path bindings (the
path wins over the body), then the query, except for `body: "*"`, which ignores it.
Routing misses become NOT_FOUND (404) or, when another method would match,
UNIMPLEMENTED (501), both written by the one error writer.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

import grpc
from google.api import httpbody_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2

from services.gateway.runtime import errors
from services.gateway.runtime.errors import GatewayError, invalid_argument
from services.gateway.runtime.fieldmask import apply_patch_feature
from services.gateway.runtime.marshal import JsonMarshaler
from services.gateway.runtime.metadata import IncomingHeaders, outgoing_headers
from services.gateway.runtime.options import GatewayOptions
from services.gateway.runtime.pattern import Match, RequestPath, Router
from services.gateway.runtime.query import parse_query_string, populate_path, populate_query
from services.gateway.runtime.route import Route
from services.gateway.runtime.stream import (
    Framer,
    Receive,
    Send,
    forward_stream,
    stream_content_type,
)
from services.servicekit.metrics import Metrics
from services.servicekit.tracing import Tracing

_log = logging.getLogger("todochat.gateway")
_FORM = "application/x-www-form-urlencoded"


async def read_body(receive: Receive, limit: int, declared: int | None) -> bytes:
    """The whole request body, or RESOURCE_EXHAUSTED with HTTP 413 past `limit`."""
    too_large = GatewayError(
        code_pb2.RESOURCE_EXHAUSTED,
        f"request body exceeds the limit of {limit} bytes",
        http_status=413,
    )
    if declared is not None and declared > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            break
        chunk = event.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        if not event.get("more_body", False):
            break
    return b"".join(chunks)


def _declared_length(scope: Mapping[str, Any]) -> int | None:
    for name, value in scope["headers"]:
        if name.lower() == b"content-length" and value.isdigit():
            return int(value)
    return None


def _raw_path(scope: Mapping[str, Any]) -> str:
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        return raw.split(b"?", 1)[0].decode("latin-1")
    return str(scope["path"])


def split_json_stream(body: bytes) -> list[Any]:
    """Concatenated or newline-separated JSON values (client-streaming request bodies)."""
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise invalid_argument("request body is not valid UTF-8") from exc
    decoder = json.JSONDecoder()
    values: list[Any] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return values
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise invalid_argument(f"invalid JSON in request stream: {exc}") from exc
        values.append(value)


class ServeMux:
    """Built once: routes sorted, multicallables bound to their channels."""

    def __init__(
        self,
        routes: Iterable[Route],
        channels: Mapping[str, grpc.aio.Channel],
        options: GatewayOptions,
        *,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._metrics = metrics
        self._tracing = tracing or Tracing.disabled("todochat-gateway")
        self._routes = list(routes)
        self._router = Router(self._routes)
        self._options = options
        self._marshaler = JsonMarshaler(strict=options.reject_unknown_fields)
        self._calls: dict[str, Any] = {}
        for route in self._routes:
            if route.grpc_path in self._calls:
                continue
            channel = channels[route.service]
            factory = {
                (False, False): channel.unary_unary,
                (False, True): channel.unary_stream,
                (True, False): channel.stream_unary,
                (True, True): channel.stream_stream,
            }[(route.client_streaming, route.server_streaming)]
            self._calls[route.grpc_path] = factory(
                route.grpc_path,
                request_serializer=route.request_type.SerializeToString,
                response_deserializer=route.response_type.FromString,
            )

    @property
    def routes(self) -> list[Route]:
        return list(self._routes)

    async def __call__(self, scope: Mapping[str, Any], receive: Receive, raw_send: Send) -> None:
        if not self._tracing.enabled:
            await self._serve(scope, receive, raw_send)
            return
        carrier = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        parent = self._tracing.extract(carrier)
        with self._tracing.server_span(f"{scope['method']} {scope['path']}", parent):
            # The span is current here, so _invoke's outgoing metadata carries its traceparent.
            await self._serve(scope, receive, raw_send)

    async def _serve(self, scope: Mapping[str, Any], receive: Receive, raw_send: Send) -> None:
        began = time.perf_counter()
        headers = IncomingHeaders(scope["headers"], scope.get("client"))
        base = [(b"x-request-id", headers.request_id.encode())]
        route: Route | None = None
        status = 500
        grpc_code: int | None = None
        started = False

        async def tracked(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await raw_send(message)

        send = tracked
        try:
            match, form_query = await self._route(scope, receive, headers)
            route = match.route
            if headers.error is not None:
                raise headers.error
            status, grpc_code = await self._invoke(
                scope, receive, send, match, form_query, headers, base
            )
        except GatewayError as exc:
            status, grpc_code = await self._fail(send, exc, headers, base)
        except Exception:
            _log.exception("gateway failure", extra={"path": scope["path"]})
            if not started:  # once the status line is out, nothing more can be said
                internal = GatewayError(code_pb2.INTERNAL, "internal error")
                status, grpc_code = await self._fail(send, internal, headers, base)
        elapsed = time.perf_counter() - began
        template = route.template.source if route else "unmatched"
        if self._metrics is not None:
            self._metrics.http_requests.labels(template, scope["method"], str(status)).inc()
            self._metrics.http_latency.labels(template, scope["method"]).observe(elapsed)
        _log.info(
            "http request",
            extra={
                "method": scope["method"],
                "route": route.template.source if route else None,
                "rpc": route.grpc_path if route else None,
                "status": status,
                "grpc_code": grpc_code,
                "duration_ms": round(elapsed * 1000, 2),
                "request_id": headers.request_id,
            },
        )

    async def _fail(
        self,
        send: Send,
        exc: GatewayError,
        headers: IncomingHeaders,
        base: list[tuple[bytes, bytes]],
    ) -> tuple[int, int]:
        code, out, body = errors.error_response(
            exc.status,
            had_credentials=headers.has_authorization,
            http_status_override=exc.http_status,
            extra_headers=base,
        )
        await send({"type": "http.response.start", "status": code, "headers": out})
        await send({"type": "http.response.body", "body": body})
        return code, exc.status.code

    async def _route(
        self, scope: Mapping[str, Any], receive: Receive, headers: IncomingHeaders
    ) -> tuple[Match, list[tuple[str, list[str]]]]:
        path = RequestPath(_raw_path(scope))
        method = str(scope["method"])
        match = self._router.find(method, path)
        form: list[tuple[str, list[str]]] = []
        if (
            match is None
            and method == "POST"
            and self._options.path_length_fallback
            and headers.content_type.startswith(_FORM)
        ):
            # grpc-gateway's path-length fallback: a long GET sent as a form POST.
            match = self._router.find(headers.method_override or "GET", path)
            if match is not None:
                body = await read_body(
                    receive, self._options.max_body_bytes, _declared_length(scope)
                )
                form = parse_query_string(body)
        if match is None:
            if self._router.allowed_methods(path):
                raise GatewayError(code_pb2.UNIMPLEMENTED, "Method Not Allowed")
            raise GatewayError(code_pb2.NOT_FOUND, "Not Found")
        return match, form

    def _build(
        self, scope: Mapping[str, Any], match: Match, body: bytes, form: list[tuple[str, list[str]]]
    ) -> Message:
        route = match.route
        request = route.request_type()
        if route.body:
            decoded = self._marshaler.decode(body, request, route.body)
            apply_patch_feature(route, request, decoded)
        populate_path(request, match.bindings)
        if route.body != "*":
            excluded = [path for path, _ in match.bindings]
            if route.body:
                excluded.append(tuple(route.body.split(".")))
            params = form or parse_query_string(scope.get("query_string", b""))
            populate_query(
                request,
                params,
                excluded,
                strict=self._options.reject_unknown_query_parameters,
            )
        return request

    def _stream_requests(self, route: Route, body: bytes) -> list[Message]:
        requests = []
        for value in split_json_stream(body):
            request = route.request_type()
            self._marshaler.parse_into(value, request)
            requests.append(request)
        return requests

    def _payload(self, response: Message, response_body: str) -> tuple[bytes, bytes]:
        """JSON, or the raw data of a google.api.HttpBody response (grpc-gateway §1.10)."""
        body: Message = response
        for name in filter(None, response_body.split(".")):
            body = getattr(body, name)
        if isinstance(body, httpbody_pb2.HttpBody):
            return (body.content_type or "application/octet-stream").encode(), body.data
        return b"application/json", self._marshaler.marshal(response, response_body)

    async def _invoke(
        self,
        scope: Mapping[str, Any],
        receive: Receive,
        send: Send,
        match: Match,
        form: list[tuple[str, list[str]]],
        headers: IncomingHeaders,
        base: list[tuple[bytes, bytes]],
    ) -> tuple[int, int]:
        route = match.route
        body = b""
        if not form:
            body = await read_body(receive, self._options.max_body_bytes, _declared_length(scope))
        request: Any
        if route.client_streaming:
            request = iter(self._stream_requests(route, body))
        else:
            request = self._build(scope, match, body, form)
        default = self._options.default_timeout_seconds
        timeout = default if headers.timeout is None else min(headers.timeout, default)
        metadata = headers.metadata
        if self._tracing.enabled:
            metadata = [*metadata, *self._tracing.outgoing_metadata()]
        call = self._calls[route.grpc_path](request, metadata=metadata, timeout=timeout)
        if route.server_streaming:
            framer = Framer(
                self._marshaler, stream_content_type(headers.accept), route.response_body
            )
            status = await forward_stream(
                call, framer, send, receive, base, headers.has_authorization
            )
            return status, 0 if status == 200 else -1
        try:
            response = await call
        except grpc.aio.AioRpcError as exc:
            rich = errors.status_from_rpc_error(exc)
            code, out, payload = errors.error_response(
                rich,
                had_credentials=headers.has_authorization,
                extra_headers=[*base, *outgoing_headers(exc.initial_metadata())],
            )
            await send({"type": "http.response.start", "status": code, "headers": out})
            await send({"type": "http.response.body", "body": payload})
            return code, rich.code
        content_type, payload = self._payload(response, route.response_body)
        out = [
            (b"content-type", content_type),
            *base,
            *outgoing_headers(await call.initial_metadata()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": out})
        await send({"type": "http.response.body", "body": payload})
        return 200, 0
