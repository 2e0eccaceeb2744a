"""Rows for reference §1.6 (JSON mapping) and §1.7 (errors)."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2, struct_pb2, timestamp_pb2, wrappers_pb2
from google.rpc import error_details_pb2, status_pb2

from tests.conformance.table import Row, differs
from tests.gateway_protos.backends import Script, status
from tests.gateway_protos.build import probe_modules

pb, _, _ = probe_modules()
_ENVOY_DEFAULTS = differs("always_print_primitive_fields: unset messages omitted, not null")
_ENVOY_ERRORS = differs("convert_grpc_status body; no WWW-Authenticate/Retry-After headers")
_ENVOY_HEADERS = differs("headers pass unchanged, no grpcgateway-/Grpc-Metadata- prefixes")
_ENVOY_STREAM = differs("stream_newline_delimited: messages without the result/error envelope")

ECHO_ABC = {
    "name": "abc",
    "i32": 0,
    "i64": "0",
    "u32": 0,
    "u64": "0",
    "s32": 0,
    "dbl": 0,
    "flt": 0,
    "flag": False,
    "data": "",
    "color": "COLOR_UNSPECIFIED",
    "tags": [],
    "nums": [],
    "colors": [],
    "labels": {},
    "by_id": {},
    "inner": None,
    "inners": [],
    "at": None,
    "ttl": None,
    "mask": None,
    "wrapped": None,
    "maybe": None,
    "meta": None,
    "any_value": None,
    "note": None,
    "path": "",
    "json_named": "",
    "times": [],
    "server_note": "",
}


def _echo(rule: str, json: Any, body: dict[str, Any], **kw: Any) -> Row:
    return Row(
        rule, "POST", "/v1/probes/abc", json=json, rpc="Echo", body={**ECHO_ABC, **body}, **kw
    )


def _code(code: grpc.StatusCode, http: int) -> Any:
    expected = {"code": code.value[0], "message": f"boom {code.name}", "details": []}
    return pytest.param(
        Row(
            f"1.7 {code.name} -> {http}",
            "GET",
            "/v1/probes/abc",
            rpc="Echo",
            script=Script(error=status(code, f"boom {code.name}")),
            status=http,
            body=expected,
            envoy=_ENVOY_ERRORS,
        ),
        id=f"1.7-{code.name.lower()}-{http}",
    )


_CODES = [
    (grpc.StatusCode.CANCELLED, 499),
    (grpc.StatusCode.UNKNOWN, 500),
    (grpc.StatusCode.INVALID_ARGUMENT, 400),
    (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
    (grpc.StatusCode.NOT_FOUND, 404),
    (grpc.StatusCode.ALREADY_EXISTS, 409),
    (grpc.StatusCode.PERMISSION_DENIED, 403),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
    (grpc.StatusCode.FAILED_PRECONDITION, 400),
    (grpc.StatusCode.ABORTED, 409),
    (grpc.StatusCode.OUT_OF_RANGE, 400),
    (grpc.StatusCode.UNIMPLEMENTED, 501),
    (grpc.StatusCode.INTERNAL, 500),
    (grpc.StatusCode.UNAVAILABLE, 503),
    (grpc.StatusCode.DATA_LOSS, 500),
]
_INFO = error_details_pb2.ErrorInfo(reason="TASK_NOT_FOUND", domain="todochat.dev")
_BAD = error_details_pb2.BadRequest(
    field_violations=[
        error_details_pb2.BadRequest.FieldViolation(field="title", description="empty")
    ]
)

ROWS: list[Any] = [
    # §1.6 JSON mapping.
    pytest.param(
        _echo(
            "1.6 proto names, defaults printed, unset messages/presence null",
            {},
            {},
            envoy=_ENVOY_DEFAULTS,
        ),
        id="1.6-emit-unpopulated",
    ),
    pytest.param(
        _echo(
            "1.6 int64 string, enum name, bytes base64",
            {"i64": 5, "u64": "7", "color": 2, "data": "aGk="},
            {"i64": "5", "u64": "7", "color": "COLOR_BLUE", "data": "aGk="},
            envoy=_ENVOY_DEFAULTS,
        ),
        id="1.6-scalar-forms",
    ),
    pytest.param(
        _echo(
            "1.6 both spellings in",
            {"customJson": "a", "any_value": 3, "byId": {"1": "x"}},
            {"json_named": "a", "any_value": 3, "by_id": {"1": "x"}},
            envoy=_ENVOY_DEFAULTS,
        ),
        id="1.6-both-spellings",
    ),
    pytest.param(
        _echo(
            "1.6 NaN and Infinity",
            {"dbl": "NaN", "flt": "-Infinity"},
            {"dbl": "NaN", "flt": "-Infinity"},
            envoy=_ENVOY_DEFAULTS,
        ),
        id="1.6-nan-infinity",
    ),
    pytest.param(
        Row(
            "1.6 WKT output forms",
            "GET",
            "/v1/probes/abc",
            rpc="Echo",
            script=Script(
                reply=pb.Probe(
                    name="w",
                    at=timestamp_pb2.Timestamp(seconds=1700000000, nanos=5000000),
                    ttl=duration_pb2.Duration(seconds=1, nanos=500000000),
                    wrapped=wrappers_pb2.Int64Value(value=3),
                    note="n",
                    alpha="x",
                    meta=struct_pb2.Struct(fields={"k": struct_pb2.Value(bool_value=True)}),
                    inner=pb.Inner(id="i"),
                )
            ),
            body={
                **ECHO_ABC,
                "name": "w",
                "at": "2023-11-14T22:13:20.005Z",
                "ttl": "1.500s",
                "wrapped": "3",
                "note": "n",
                "alpha": "x",
                "meta": {"k": True},
                "inner": {"id": "i", "count": 0, "color": "COLOR_UNSPECIFIED"},
            },
            envoy=_ENVOY_DEFAULTS,
        ),
        id="1.6-wkt-output",
    ),
    pytest.param(
        _echo(
            "1.6 unknown JSON fields dropped",
            {"bogus": 1, "inner": {"nope": 2}},
            {"inner": {"id": "", "count": 0, "color": "COLOR_UNSPECIFIED"}},
            envoy=_ENVOY_DEFAULTS,
        ),
        id="1.6-unknown-dropped",
    ),
    pytest.param(
        Row(
            "1.6 empty response is {}",
            "DELETE",
            "/api/u1/tasks/t1",
            rpc="DeleteTask",
            request={"user_id": "u1", "task_id": "t1"},
            body={},
        ),
        id="1.6-empty-response",
    ),
    # §1.7 status table, Status body, headers.
    *[_code(code, http) for code, http in _CODES],
    pytest.param(
        Row(
            "1.7 details as Any with @type",
            "GET",
            "/v1/probes/abc",
            rpc="Echo",
            script=Script(error=status(grpc.StatusCode.INVALID_ARGUMENT, "bad", _INFO, _BAD)),
            status=400,
            body={
                "code": 3,
                "message": "bad",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "TASK_NOT_FOUND",
                        "domain": "todochat.dev",
                        "metadata": {},
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        # Unset messages inside details are omitted (not null): details are Any.
                        "field_violations": [
                            {"field": "title", "description": "empty", "reason": ""}
                        ],
                    },
                ],
            },
            envoy=_ENVOY_ERRORS,
        ),
        id="1.7-details",
    ),
    pytest.param(
        Row(
            "1.7 RetryInfo -> Retry-After",
            "GET",
            "/v1/probes/abc",
            rpc="Echo",
            script=Script(
                error=status(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    "slow down",
                    error_details_pb2.RetryInfo(
                        retry_delay=duration_pb2.Duration(seconds=7, nanos=1)
                    ),
                )
            ),
            status=429,
            response_headers={"retry-after": "8"},
            envoy=_ENVOY_ERRORS,
        ),
        id="1.7-retry-after",
    ),
    pytest.param(
        Row(
            "1.7 UNAUTHENTICATED -> WWW-Authenticate",
            "GET",
            "/v1/probes/abc",
            headers={"authorization": "Bearer bad"},
            rpc="Echo",
            script=Script(error=status(grpc.StatusCode.UNAUTHENTICATED, 'token "expired"')),
            status=401,
            response_headers={
                "www-authenticate": 'Bearer realm="todochat", '
                'error="invalid_token", error_description="token expired"'
            },
            envoy=_ENVOY_ERRORS,
        ),
        id="1.7-www-authenticate",
    ),
    pytest.param(
        Row(
            "1.7 header metadata forwarded on errors",
            "GET",
            "/v1/probes/abc",
            rpc="Echo",
            script=Script(
                error=status(grpc.StatusCode.NOT_FOUND, "gone"),
                header_metadata=(("trace-id", "t9"),),
            ),
            status=404,
            response_headers={"grpc-metadata-trace-id": "t9"},
            envoy=_ENVOY_HEADERS,
        ),
        id="1.7-metadata-on-error",
    ),
    pytest.param(
        Row(
            "1.7 unmarshalable details -> fallback body",
            "GET",
            "/v1/probes/abc",
            rpc="Echo",
            script=Script(
                error=status_pb2.Status(
                    code=5,
                    message="x",
                    details=[any_pb2.Any(type_url="type.googleapis.com/no.Such", value=b"")],
                )
            ),
            status=500,
            body={"code": 13, "message": "failed to marshal error message"},
            envoy=differs("unknown detail types are not rendered"),
        ),
        id="1.7-marshal-fallback",
    ),
]
