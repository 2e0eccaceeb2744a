"""HTTP headers <-> gRPC metadata (grpc-gateway runtime/context.go and handler.go).

In: IANA permanent headers travel as `grpcgateway-<name>`, `Grpc-Metadata-<k>` as
`<k>`, `Authorization` also as plain `authorization` (what our interceptor reads),
`X-Request-Id` as `x-request-id`, plus `x-forwarded-host` and `x-forwarded-for`.
Everything else is dropped. `-bin` keys are base64-decoded; values that are not
printable ASCII are skipped. `Grpc-Timeout` becomes the call deadline.
Out: header metadata `k` becomes `Grpc-Metadata-K` (binary values base64-encoded).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterable, Sequence

from services.gateway.runtime.errors import GatewayError, invalid_argument
from services.servicekit.request_ids import REQUEST_ID

PERMANENT_HEADERS = frozenset(
    {
        "accept",
        "accept-charset",
        "accept-language",
        "accept-ranges",
        "authorization",
        "cache-control",
        "content-type",
        "cookie",
        "date",
        "expect",
        "from",
        "host",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-schedule-tag-match",
        "if-unmodified-since",
        "max-forwards",
        "origin",
        "pragma",
        "referer",
        "user-agent",
        "via",
        "warning",
    }
)
METADATA_PREFIX = "grpc-metadata-"
PERMANENT_PREFIX = "grpcgateway-"
_VALID_KEY = re.compile(r"[0-9a-z_.\-]+")
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_TIMEOUT = re.compile(r"([0-9]{1,8})([HMSmun])")
_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}

Metadata = list[tuple[str, str | bytes]]
RawHeaders = Iterable[tuple[bytes, bytes]]


def parse_grpc_timeout(value: str) -> float:
    """`10S`, `500m`, ... -> seconds; anything else is a 400, as in grpc-gateway."""
    match = _TIMEOUT.fullmatch(value.strip())
    if match is None:
        raise invalid_argument(f"invalid grpc-timeout: {value}")
    return int(match.group(1)) * _TIMEOUT_UNITS[match.group(2)]


def _decode_bin(key: str, value: str) -> bytes:
    padded = (value + "=" * (-len(value) % 4)).encode("latin-1")
    for altchars in (b"+/", b"-_"):
        try:
            return base64.b64decode(padded, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
    raise invalid_argument(f"invalid binary header {key}")


class IncomingHeaders:
    """What the gateway needs from a request's headers, gathered in one pass."""

    def __init__(self, headers: RawHeaders, client: Sequence[object] | None) -> None:
        self.metadata: Metadata = []
        self.timeout: float | None = None
        self.accept = ""
        self.content_type = ""
        self.method_override = ""
        self.has_authorization = False
        # A bad Grpc-Timeout or -bin header is reported after routing, as grpc-gateway
        # does, so an unknown path is still a 404.
        self.error: GatewayError | None = None
        request_id: str | None = None
        forwarded_for: str | None = None
        forwarded_host: str | None = None
        host: str | None = None
        for raw_name, raw_value in headers:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            if name == "grpc-timeout":
                try:
                    self.timeout = parse_grpc_timeout(value)
                except GatewayError as exc:
                    self.error = self.error or exc
                continue
            if name == "x-request-id":
                request_id = value if REQUEST_ID.fullmatch(value) else None
                continue
            if name == "x-forwarded-for":
                forwarded_for = value
                continue
            if name == "x-forwarded-host":
                forwarded_host = value
                continue
            if name == "accept":
                self.accept = value.lower()
            elif name == "content-type":
                self.content_type = value.lower()
            elif name == "host":
                host = value
            elif name == "x-http-method-override":
                self.method_override = value.upper()
            if name == "authorization":
                self.has_authorization = True
                self._add("authorization", value)
            self._incoming(name, value)
        self.request_id = request_id or uuid.uuid4().hex
        self.metadata.append(("x-request-id", self.request_id))
        if forwarded_host or host:
            self._add("x-forwarded-host", forwarded_host or host or "")
        remote = str(client[0]) if client else ""
        if remote:
            fwd = f"{forwarded_for}, {remote}" if forwarded_for else remote
            self._add("x-forwarded-for", fwd)

    def _incoming(self, name: str, value: str) -> None:
        if name in PERMANENT_HEADERS:
            self._add(PERMANENT_PREFIX + name, value)
        elif name.startswith(METADATA_PREFIX):
            self._add(name[len(METADATA_PREFIX) :], value)

    def _add(self, key: str, value: str) -> None:
        # gRPC reserves grpc-*; an invalid key would make the whole call fail.
        if not _VALID_KEY.fullmatch(key) or key.startswith("grpc-"):
            return
        if key.endswith("-bin"):
            try:
                self.metadata.append((key, _decode_bin(key, value)))
            except GatewayError as exc:
                self.error = self.error or exc
        elif _PRINTABLE.fullmatch(value):
            self.metadata.append((key, value))


def canonical_header(name: str) -> str:
    """Go's CanonicalMIMEHeaderKey: `grpc-metadata-next-page-token` -> `Grpc-Metadata-Next-Page-Token`."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def outgoing_headers(
    metadata: Iterable[tuple[str, str | bytes]] | None,
) -> list[tuple[bytes, bytes]]:
    """Response headers for the server's header metadata."""
    headers: list[tuple[bytes, bytes]] = []
    for key, value in metadata or ():
        if isinstance(value, bytes):
            text = base64.b64encode(value).decode("ascii")
        elif _PRINTABLE.fullmatch(value):
            text = value
        else:
            continue
        headers.append((canonical_header("grpc-metadata-" + key).encode(), text.encode("latin-1")))
    return headers
