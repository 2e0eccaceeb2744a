"""Rows for reference §1.8 (headers), §1.9 (streams) and §1.10 (PATCH)."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.api import httpbody_pb2

from tests.conformance.rows_response import ECHO_ABC
from tests.conformance.table import Row, differs
from tests.gateway_protos.backends import Script, status
from tests.gateway_protos.build import probe_modules

pb, _, _ = probe_modules()
_ENVOY_HEADERS = differs("headers pass unchanged, no grpcgateway-/Grpc-Metadata- prefixes")
_ENVOY_STREAM = differs("stream_newline_delimited: messages without the result/error envelope")

ROWS: list[Any] = [
    # §1.8 headers <-> metadata.
    pytest.param(
        Row(
            "1.8 incoming header matcher",
            "GET",
            "/v1/probes/abc",
            rpc="Echo",
            headers={
                "authorization": "Bearer t0k",
                "grpc-metadata-tenant": "acme",
                "user-agent": "ua/1",
                "x-custom": "dropped",
                "x-request-id": "req-1",
                "grpc-metadata-blob-bin": "aGk",
                "x-forwarded-for": "198.51.100.1",
            },
            metadata={
                "authorization": "Bearer t0k",
                "grpcgateway-authorization": "Bearer t0k",
                "tenant": "acme",
                "grpcgateway-user-agent": "ua/1",
                "x-custom": None,
                "x-request-id": "req-1",
                "blob-bin": b"hi",
                "x-forwarded-for": "198.51.100.1, 203.0.113.7",
                "x-forwarded-host": "gateway.test",
            },
            response_headers={"x-request-id": "req-1"},
            envoy=_ENVOY_HEADERS,
        ),
        id="1.8-incoming-headers",
    ),
    pytest.param(
        Row(
            "1.8 response header metadata -> Grpc-Metadata-*",
            "GET",
            "/api/u1/tasks",
            rpc="ListTasks",
            script=Script(header_metadata=(("next-page-token", "p2"),)),
            body=[],
            response_headers={"grpc-metadata-next-page-token": "p2"},
            envoy=_ENVOY_HEADERS,
        ),
        id="1.8-outgoing-metadata",
    ),
    pytest.param(
        Row(
            "1.8 bad Grpc-Timeout -> 400",
            "GET",
            "/v1/probes/abc",
            headers={"grpc-timeout": "soon"},
            status=400,
            body={"code": 3, "message": "invalid grpc-timeout: soon", "details": []},
            envoy=differs("grpc-timeout is passed through as the gRPC header"),
        ),
        id="1.8-bad-grpc-timeout",
    ),
    pytest.param(
        Row(
            "1.8 bad -bin header -> 400",
            "GET",
            "/v1/probes/abc",
            headers={"grpc-metadata-x-bin": "!!"},
            status=400,
            body={"code": 3, "message": "invalid binary header x-bin", "details": []},
            envoy=_ENVOY_HEADERS,
        ),
        id="1.8-bad-bin-header",
    ),
    # §1.9 streaming (complete bodies; framing details are in tests/unit/gateway).
    pytest.param(
        Row(
            "1.9 NDJSON result envelopes",
            "POST",
            "/v1/probes/s:watch",
            json={},
            rpc="Watch",
            script=Script(stream=(pb.Probe(name="1"), pb.Probe(name="2"))),
            ndjson=[{"result": {**ECHO_ABC, "name": "1"}}, {"result": {**ECHO_ABC, "name": "2"}}],
            envoy=_ENVOY_STREAM,
        ),
        id="1.9-ndjson",
    ),
    pytest.param(
        Row(
            "1.9 streamed response_body field",
            "GET",
            "/v1/watch/s",
            rpc="Watch",
            script=Script(stream=(pb.Probe(inner=pb.Inner(id="a")), pb.Probe())),
            ndjson=[
                {"result": {"id": "a", "count": 0, "color": "COLOR_UNSPECIFIED"}},
                {"result": None},
            ],
            envoy=_ENVOY_STREAM,
        ),
        id="1.9-stream-response-body",
    ),
    pytest.param(
        Row(
            "1.9 error before the first message",
            "POST",
            "/v1/probes/s:watch",
            json={},
            rpc="Watch",
            script=Script(error=status(grpc.StatusCode.NOT_FOUND, "none")),
            status=404,
            ndjson=[{"error": {"code": 5, "message": "none", "details": []}}],
            envoy=_ENVOY_STREAM,
        ),
        id="1.9-error-before-first",
    ),
    pytest.param(
        Row(
            "1.9 error after data",
            "POST",
            "/v1/probes/s:watch",
            json={},
            rpc="Watch",
            script=Script(
                stream=(pb.Probe(name="1"),), error=status(grpc.StatusCode.UNAVAILABLE, "lost")
            ),
            ndjson=[
                {"result": {**ECHO_ABC, "name": "1"}},
                {"error": {"code": 14, "message": "lost", "details": []}},
            ],
            envoy=differs("only grpc-status in trailers after a 200"),
        ),
        id="1.9-error-after-data",
    ),
    pytest.param(
        Row(
            "1.9 client streaming: concatenated JSON",
            "POST",
            "/v1/uploads",
            content=b'{"name": "a"}\n{"name": "b"} {"i32": 3}',
            rpc="Upload",
            request=[{"name": "a"}, {"name": "b"}, {"i32": 3}],
            envoy=differs("client streams take a JSON array"),
        ),
        id="1.9-client-stream",
    ),
    # §1.10 HttpBody and the PATCH feature.
    pytest.param(
        Row(
            "1.10 HttpBody response: raw data, its content type",
            "GET",
            "/v1/downloads/report",
            rpc="Download",
            request={"name": "report"},
            script=Script(reply=httpbody_pb2.HttpBody(content_type="text/csv", data=b"a,b\n")),
            response_headers={"content-type": "text/csv"},
            raw=b"a,b\n",
        ),
        id="1.10-httpbody-response",
    ),
    pytest.param(
        Row(
            "1.10 PATCH fills an empty FieldMask from the body keys",
            "PATCH",
            "/v1/probes/abc",
            json={"id": "x", "count": 1},
            rpc="Echo",
            request={"name": "abc", "inner": {"id": "x", "count": 1}, "mask": "count,id"},
            envoy=differs("no PATCH field-mask feature"),
        ),
        id="1.10-patch-field-mask",
    ),
    pytest.param(
        Row(
            "1.10 PATCH keeps a mask given in the query",
            "PATCH",
            "/v1/probes/abc?mask=id",
            json={"id": "x", "count": 1},
            rpc="Echo",
            request={"name": "abc", "inner": {"id": "x", "count": 1}, "mask": "id"},
            envoy=differs("no PATCH field-mask feature"),
        ),
        id="1.10-patch-explicit-mask",
    ),
]
