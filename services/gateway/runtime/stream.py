"""Server-streaming responses: NDJSON envelopes (grpc-gateway) or Server-Sent Events.

NDJSON, as grpc-gateway's ForwardResponseStream: each message is `{"result": <msg>}`
and a newline, flushed as it arrives. A failure after data is a final
`{"error": <google.rpc.Status>}` line (the status is already 200); a failure before
the first message gets the mapped HTTP status and the same `{"error": ...}` body.
The content type is `application/json` as in grpc-gateway, or `application/x-ndjson`
when the client asks for it.

SSE (`Accept: text/event-stream`, grpc-gateway #26): each message is one event
`event: result` + `data: <msg JSON>`, a failure is `event: error` + `data: <Status
JSON>`; every event ends with a blank line. JSON never contains a raw newline, so
`data` is always one line.

A client that goes away cancels the gRPC call, so the backend sees CANCELLED.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import Message
from google.rpc import status_pb2

from services.gateway.runtime import errors
from services.gateway.runtime.marshal import JsonMarshaler
from services.gateway.runtime.metadata import outgoing_headers

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
NDJSON = "application/x-ndjson"
SSE = "text/event-stream"


def stream_content_type(accept: str) -> str:
    if SSE in accept:
        return SSE
    if NDJSON in accept:
        return NDJSON
    return "application/json"


class Framer:
    """Turns results and errors into chunks of the negotiated framing."""

    def __init__(self, marshaler: JsonMarshaler, content_type: str, response_body: str) -> None:
        self.marshaler = marshaler
        self.content_type = content_type
        self.response_body = response_body

    def result(self, message: Message) -> bytes:
        value = self.marshaler.select(message, self.response_body)
        if self.content_type == SSE:
            return b"event: result\ndata: " + self.marshaler.encode(value) + b"\n\n"
        return self.marshaler.encode({"result": value}) + b"\n"

    def error(self, status: status_pb2.Status) -> bytes:
        body = errors.status_body(status)
        if self.content_type == SSE:
            return b"event: error\ndata: " + body + b"\n\n"
        return b'{"error":' + body + b"}\n"


async def _cancel_on_disconnect(receive: Receive, call: grpc.aio.Call) -> None:
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            call.cancel()
            return


class _ClientGone(Exception):
    """The client disconnected, so the call was cancelled on purpose."""


async def _read(
    call: grpc.aio.UnaryStreamCall[Any, Any] | grpc.aio.StreamStreamCall[Any, Any],
    watcher: asyncio.Task[None],
) -> Any:
    try:
        return await call.read()
    except asyncio.CancelledError:
        if watcher.done():
            raise _ClientGone from None
        raise
    except grpc.aio.AioRpcError as exc:
        if watcher.done() and exc.code() == grpc.StatusCode.CANCELLED:
            raise _ClientGone from None
        raise


async def forward_stream(
    call: grpc.aio.UnaryStreamCall[Any, Any] | grpc.aio.StreamStreamCall[Any, Any],
    framer: Framer,
    send: Send,
    receive: Receive,
    base_headers: list[tuple[bytes, bytes]],
    had_credentials: bool,
) -> int:
    """Relays the stream; returns the HTTP status sent (for the access log)."""
    watcher = asyncio.create_task(_cancel_on_disconnect(receive, call))
    started = False
    try:
        try:
            first = await _read(call, watcher)
        except grpc.aio.AioRpcError as exc:
            status = errors.status_from_rpc_error(exc)
            extra = [*base_headers, *outgoing_headers(exc.initial_metadata())]
            code, headers, _ = errors.error_response(
                status, had_credentials=had_credentials, extra_headers=extra
            )
            headers[0] = (b"content-type", framer.content_type.encode())
            await send({"type": "http.response.start", "status": code, "headers": headers})
            await send({"type": "http.response.body", "body": framer.error(status)})
            return code
        headers = [
            (b"content-type", framer.content_type.encode()),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
            *base_headers,
            *outgoing_headers(await call.initial_metadata()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        started = True
        message = first
        while message is not grpc.aio.EOF:
            await send(
                {"type": "http.response.body", "body": framer.result(message), "more_body": True}
            )
            try:
                message = await _read(call, watcher)
            except grpc.aio.AioRpcError as exc:
                chunk = framer.error(errors.status_from_rpc_error(exc))
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                break
        await send({"type": "http.response.body", "body": b""})
        return 200
    except (_ClientGone, OSError):
        # The client went away: the call is (or now gets) cancelled, nothing to write.
        call.cancel()
        return 200 if started else 499
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        if not call.done():
            call.cancel()
