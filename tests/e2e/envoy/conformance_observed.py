"""What a live Envoy (our rendered config) does for each conformance row it answers
differently from grpc-gateway, verified by tests/e2e/envoy/test_conformance.py.

The rows (tests/conformance/) carry grpc-gateway's behaviour and their authors'
expectation of Envoy's. An `Observed` entry replaces those parts of a row's
expectation that differ live; everything it does not name is still asserted as the
gateway's. `SAME_WITH_OUR_CONFIG` lists rows annotated as differing that our config
brings in line (the reason says how).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tests.conformance.rows_response import ECHO_ABC
from tests.conformance.table import ANY

KEEP: Any = object()  # "as the row says"
_ECHO = {**ECHO_ABC, "name": ""}


def without_nulls(value: Any) -> Any:
    """`value` with every null member removed, at every depth: Envoy never prints an
    unset message or proto3 `optional` field, where grpc-gateway prints null."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def unenveloped(ndjson: list[Any]) -> list[Any]:
    """grpc-gateway's `{"result": m}` lines as Envoy writes them: `m` alone."""
    return [without_nulls(line["result"]) for line in ndjson]


class StatusWith:
    """A google.rpc.Status body with this code, any non-empty message, no details."""

    def __init__(self, code: int) -> None:
        self.code = code

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, dict)
            and other.get("code") == self.code
            and other.get("details") == []
            and isinstance(other.get("message"), str)
            and bool(other["message"])
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StatusWith({self.code})"


class StartsWith:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith(self.prefix)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StartsWith({self.prefix!r})"


@dataclass(frozen=True)
class Observed:
    note: str
    status: int | None = None
    # KEEP, ANY, a value, or a function of the row's value.
    body: Any = KEEP
    ndjson: Any = KEEP
    raw: bytes | None = None
    rpc: Any = KEEP
    request: Any = KEEP
    response_headers: Mapping[str, Any] | None = None
    metadata: Mapping[str, Any] | None = None


def _envoy_400(note: str) -> Observed:
    return Observed(note, status=400, body=StatusWith(3), rpc=None)


_DEFAULTS = Observed(
    "always_print_primitive_fields prints defaults but never an unset message or optional "
    "field: they are missing, not null",
    body=without_nulls,
)
_PARSER = "Envoy's own 400 (local reply as Status JSON) with its parser's wording"

OBSERVED: Mapping[str, Observed] = {
    # §1.2 paths
    "1.2-path-type-mismatch": _envoy_400(_PARSER),
    "1.2-malformed-escape": Observed(
        "a malformed %-escape is taken literally",
        status=200,
        body=ANY,
        rpc="Echo",
        request={"name": "%zz"},
    ),
    # §1.3 body
    "1.3-body-star-ignores-query": Observed(
        'with body:"*" the query is still bound', request={"name": "abc", "i32": 7, "flag": True}
    ),
    "1.3-path-wins-over-body": Observed(
        "the body value wins over the path", request={"name": "evil"}
    ),
    "1.3-no-body-ignored": Observed(
        "a body sent to a rule without `body` is still read, and wins over the query",
        request={"name": "abc", "i32": 1},
    ),
    "1.3-invalid-json": _envoy_400(_PARSER),
    "1.3-body-not-object": _envoy_400(_PARSER),
    # §1.4 query
    "1.4-too-many-values": Observed(
        "a repeated singular key is not an error: the last value wins",
        status=200,
        body=ANY,
        rpc="Echo",
        request={"name": "abc", "i32": 2},
    ),
    "1.4-oneof-conflict": _envoy_400(_PARSER),
    "1.4-map": Observed(
        "no map syntax in the query (`labels[env]=`): ignored as an unknown parameter",
        request={"name": "abc"},
    ),
    "1.4-bad-bool": Observed(
        "`yes` is accepted as true",
        status=200,
        body=ANY,
        rpc="Echo",
        request={"name": "abc", "flag": True},
    ),
    "1.4-int32-range": _envoy_400(_PARSER),
    "1.4-uint64-negative": _envoy_400(_PARSER),
    "1.4-floats": _envoy_400("Go float spellings (`-Inf`) are not accepted"),
    "1.4-enum-case": _envoy_400(_PARSER),
    "1.4-duration": _envoy_400("only protobuf Duration text (`3720.5s`), not Go's `1h2m0.5s`"),
    "1.4-duration-bad": _envoy_400(_PARSER),
    "1.4-struct-value": _envoy_400("Struct/Value cannot come from the query"),
    "1.4-unsupported-message": _envoy_400(_PARSER),
    "1.4-traverse-scalar": Observed(
        "a path through a scalar is an unknown parameter, ignored",
        status=200,
        body=ANY,
        rpc="Echo",
        request={"name": "abc"},
    ),
    "1.4-traverse-repeated": Observed(
        "a path through a repeated message appends an element",
        status=200,
        body=ANY,
        rpc="Echo",
        request={"name": "abc", "inners": [{"id": "1"}]},
    ),
    "1.4-query-cannot-override-path": Observed(
        "a query key overrides the path binding (user_id is still checked against the token)",
        request={"user_id": "evil2"},
    ),
    # §1.5 routing
    "1.5-response-body-array": Observed(
        "response_body via our Lua filter; the elements without null members",
        body=without_nulls,
    ),
    "1.5-unknown-path-404": Observed(
        "reject_unknown_method: 404, Status JSON from local_reply_config, Envoy's wording",
        body=StatusWith(5),
    ),
    "1.5-trailing-slash-404": Observed(
        "a trailing slash still matches the route", status=200, body=[], rpc="ListTasks"
    ),
    "1.5-wrong-method-501": Observed(
        "a known path with another method is 404, not 501", status=404, body=StatusWith(5)
    ),
    "1.5-path-length-fallback": Observed(
        "no POST form -> GET fallback", status=404, body=StatusWith(5), rpc=None
    ),
    # §1.6 JSON
    "1.6-emit-unpopulated": _DEFAULTS,
    "1.6-scalar-forms": _DEFAULTS,
    "1.6-both-spellings": _DEFAULTS,
    "1.6-nan-infinity": _DEFAULTS,
    "1.6-wkt-output": _DEFAULTS,
    "1.6-unknown-dropped": _DEFAULTS,
    # §1.7 errors
    "1.7-retry-after": Observed(
        "no Retry-After from RetryInfo (the detail is in the body)",
        response_headers={"retry-after": None},
    ),
    "1.7-www-authenticate": Observed(
        "no WWW-Authenticate on 401", response_headers={"www-authenticate": None}
    ),
    "1.7-metadata-on-error": Observed(
        "header metadata as plain headers, no Grpc-Metadata- prefix",
        response_headers={"grpc-metadata-trace-id": None, "trace-id": "t9"},
    ),
    "1.7-marshal-fallback": Observed(
        "a Status whose details it cannot resolve: the code's HTTP status, empty body",
        status=404,
        body=ANY,
        raw=b"",
    ),
    # §1.8 headers
    "1.8-incoming-headers": Observed(
        "every request header reaches the service as is: no grpcgateway- copies, "
        "Grpc-Metadata- not stripped, -bin not decoded, no X-Forwarded-Host",
        metadata={
            "authorization": "Bearer t0k",
            "grpcgateway-authorization": None,
            "tenant": None,
            "grpc-metadata-tenant": "acme",
            "user-agent": "ua/1",
            "grpcgateway-user-agent": None,
            "x-custom": "dropped",
            "x-request-id": "req-1",
            "blob-bin": None,
            "x-forwarded-for": StartsWith("198.51.100.1,"),
            "x-forwarded-host": None,
        },
    ),
    "1.8-bad-grpc-timeout": Observed(
        "Grpc-Timeout passes through; the gRPC server refuses it: 500 INTERNAL",
        status=500,
        body=StatusWith(13),
        rpc=None,
    ),
    "1.8-bad-bin-header": Observed(
        "the header passes through; the gRPC server refuses it: 500 INTERNAL",
        status=500,
        body=StatusWith(13),
        rpc=None,
    ),
    # §1.9 streams
    "1.9-ndjson": Observed("NDJSON of the messages, no result envelope", ndjson=unenveloped),
    "1.9-stream-response-body": Observed(
        "response_body on a stream is not applied (rendered with strict=False): whole messages",
        ndjson=lambda _: [
            without_nulls(
                {**_ECHO, "inner": {"id": "a", "count": 0, "color": "COLOR_UNSPECIFIED"}}
            ),
            without_nulls(_ECHO),
        ],
    ),
    "1.9-error-before-first": Observed(
        "the mapped status with the bare Status body, no error envelope",
        ndjson=None,
        body={"code": 5, "message": "none", "details": []},
    ),
    "1.9-error-after-data": Observed(
        "after data the error is only in HTTP/2 trailers: an HTTP/1.1 client sees the "
        "stream end normally",
        ndjson=lambda nd: unenveloped(nd[:1]),
    ),
    "1.9-client-stream": Observed(
        "client streams want a JSON array, not concatenated objects",
        status=400,
        body=StatusWith(3),
        rpc=None,
    ),
    # §1.10
    "1.10-patch-field-mask": Observed(
        "no PATCH field-mask feature", request={"name": "abc", "inner": {"id": "x", "count": 1}}
    ),
}

SAME_WITH_OUR_CONFIG: Mapping[str, str] = {
    "1.4-unknown-ignored": "ignore_unknown_query_parameters (not reject_…)",
    "1.5-response-body-null": "the Lua response_body filter answers null for an unset field",
    "1.5-response-body-tags": "the Lua response_body filter",
    "1.5-form-post-to-post-route": "a form body is not JSON: 400 with a Status body",
    "1.3-body-type-mismatch": "400 with a Status body (local_reply_config)",
    "1.8-outgoing-metadata": "the config adds grpc-metadata-next-page-token",
    "1.10-patch-explicit-mask": "an explicit mask is an ordinary field",
    **{
        f"1.7-{name}": "convert_grpc_status writes the same Status JSON"
        for name in (
            "cancelled-499",
            "unknown-500",
            "invalid_argument-400",
            "deadline_exceeded-504",
            "not_found-404",
            "already_exists-409",
            "permission_denied-403",
            "resource_exhausted-429",
            "failed_precondition-400",
            "aborted-409",
            "out_of_range-400",
            "unimplemented-501",
            "internal-500",
            "unavailable-503",
            "data_loss-500",
            "details",
        )
    },
}
