"""The one gRPC code -> HTTP status table, and the one error writer.

Every failure, whether a backend status, a bad request the gateway caught itself, or
a routing miss, becomes a `google.rpc.Status` first and is written here, as
grpc-gateway's `DefaultHTTPErrorHandler` does: the Status JSON body (details as Any
with `@type`), `WWW-Authenticate` on UNAUTHENTICATED, `Retry-After` from RetryInfo.
The OpenAPI plugin reads the same table, so the document lists what the runtime sends.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import grpc
from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2

_log = logging.getLogger("todochat.gateway")

# grpc-gateway runtime/errors.go HTTPStatusFromCode (Envoy's grpc/status.cc agrees).
_TABLE: dict[int, int] = {
    code_pb2.OK: 200,
    code_pb2.CANCELLED: 499,
    code_pb2.UNKNOWN: 500,
    code_pb2.INVALID_ARGUMENT: 400,
    code_pb2.DEADLINE_EXCEEDED: 504,
    code_pb2.NOT_FOUND: 404,
    code_pb2.ALREADY_EXISTS: 409,
    code_pb2.PERMISSION_DENIED: 403,
    code_pb2.RESOURCE_EXHAUSTED: 429,
    code_pb2.FAILED_PRECONDITION: 400,  # deliberately not 412, as grpc-gateway
    code_pb2.ABORTED: 409,
    code_pb2.OUT_OF_RANGE: 400,
    code_pb2.UNIMPLEMENTED: 501,
    code_pb2.INTERNAL: 500,
    code_pb2.UNAVAILABLE: 503,
    code_pb2.DATA_LOSS: 500,
    code_pb2.UNAUTHENTICATED: 401,
}
HTTP_STATUS_BY_CODE: Mapping[int, int] = MappingProxyType(_TABLE)

# grpc-gateway's body when marshalling the Status itself fails.
FALLBACK_BODY = b'{"code": 13, "message": "failed to marshal error message"}'
_DETAILS_KEY = "grpc-status-details-bin"
_UNSAFE_IN_QUOTES = re.compile(r'[^\x20-\x7e]|["\\]')

Headers = list[tuple[bytes, bytes]]


def http_status(code: int) -> int:
    """The HTTP status for a google.rpc code; unknown codes are 500."""
    return HTTP_STATUS_BY_CODE.get(code, 500)


class GatewayError(Exception):
    """A failure the gateway detects itself, carried as a google.rpc.Status.

    `http_status` overrides the table, as grpc-gateway's HTTPStatusError does, for the
    few HTTP-only conditions (413) that have no gRPC code of their own.
    """

    def __init__(self, code: int, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.status = status_pb2.Status(code=code, message=message)
        self.http_status = http_status


def invalid_argument(message: str) -> GatewayError:
    return GatewayError(code_pb2.INVALID_ARGUMENT, message)


def status_from_rpc_error(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    """The full Status of a failed call, details included, from its trailers."""
    code = int(error.code().value[0])
    for key, value in error.trailing_metadata() or ():
        if key == _DETAILS_KEY and isinstance(value, bytes):
            try:
                rich = status_pb2.Status.FromString(value)
            except Exception:  # a garbled trailer must not hide the real code
                break
            if rich.code == code:
                return rich
            break
    return status_pb2.Status(code=code, message=error.details() or "")


def status_to_dict(status: status_pb2.Status) -> dict[str, object]:
    return json_format.MessageToDict(
        status, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def status_body(status: status_pb2.Status) -> bytes:
    """The Status as JSON; a detail whose type is unknown falls back like grpc-gateway."""
    try:
        return json.dumps(
            status_to_dict(status), ensure_ascii=False, separators=(",", ":")
        ).encode()
    except Exception:
        _log.exception("failed to marshal error status", extra={"grpc_code": status.code})
        return FALLBACK_BODY


def _quoted(text: str) -> str:
    return _UNSAFE_IN_QUOTES.sub("", text)[:200]


def retry_after_seconds(status: status_pb2.Status) -> int | None:
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            delay = float(info.retry_delay.seconds) + float(info.retry_delay.nanos) / 1e9
            return max(0, math.ceil(delay))
    return None


def error_headers(status: status_pb2.Status, *, had_credentials: bool) -> Headers:
    """WWW-Authenticate and Retry-After, the headers an error status implies."""
    headers: Headers = []
    if status.code == code_pb2.UNAUTHENTICATED:
        # RFC 6750 challenge rather than grpc-gateway's bare message: clients parse it.
        challenge = 'Bearer realm="todochat"'
        if had_credentials:
            challenge += f', error="invalid_token", error_description="{_quoted(status.message)}"'
        headers.append((b"www-authenticate", challenge.encode()))
    delay = retry_after_seconds(status)
    if delay is not None:
        headers.append((b"retry-after", str(delay).encode()))
    return headers


def error_response(
    status: status_pb2.Status,
    *,
    had_credentials: bool,
    http_status_override: int | None = None,
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
) -> tuple[int, Headers, bytes]:
    """Status code, headers and body of the HTTP answer for `status`."""
    body = status_body(status)
    code = http_status_override or http_status(status.code)
    if body is FALLBACK_BODY:
        code = 500
    headers: Headers = [(b"content-type", b"application/json")]
    headers.extend(extra_headers)
    headers.extend(error_headers(status, had_credentials=had_credentials))
    return code, headers, body
