"""Rows for reference §1.1 (rule shape), §1.2 (path templates) and §1.5 (routing)."""

from __future__ import annotations

from typing import Any

import pytest
from todochat.tasks.v1 import resources_pb2, tasks_service_pb2

from tests.conformance.table import Row, differs
from tests.gateway_protos.backends import Script

_NOT_FOUND = {"code": 5, "message": "Not Found", "details": []}
_NOT_ALLOWED = {"code": 12, "message": "Method Not Allowed", "details": []}
_ENVOY_ROUTING = differs(
    "unmatched requests: 404 via reject_unknown_method, body not a Status", 404
)

ROWS: list[Any] = [
    # §1.1 rule shape: each verb and the custom kind, primary and additional bindings.
    pytest.param(
        Row("1.1 get", "GET", "/v1/probes/abc", rpc="Echo", request={"name": "abc"}),
        id="1.1-get",
    ),
    pytest.param(
        Row(
            "1.1 post additional binding",
            "POST",
            "/v1/probes/abc",
            json={"i32": 1},
            rpc="Echo",
            request={"name": "abc", "i32": 1},
        ),
        id="1.1-post-additional-binding",
    ),
    pytest.param(
        Row(
            "1.1 put",
            "PUT",
            "/v1/probes/abc/inner",
            json={"id": "x"},
            rpc="Echo",
            request={"name": "abc", "inner": {"id": "x"}},
        ),
        id="1.1-put",
    ),
    pytest.param(
        Row("1.1 delete", "DELETE", "/v1/probes/abc", rpc="Echo", request={"name": "abc"}),
        id="1.1-delete",
    ),
    pytest.param(
        Row(
            "1.1 custom kind SEARCH",
            "SEARCH",
            "/v1/probes?name=q",
            rpc="Echo",
            request={"name": "q"},
        ),
        id="1.1-custom-kind",
    ),
    pytest.param(
        Row(
            "1.1 primary binding (frontend)",
            "POST",
            "/api/chat",
            json={"content": "hi"},
            rpc="Chat",
            request={"content": "hi"},
        ),
        id="1.1-chat-primary",
    ),
    pytest.param(
        Row(
            "1.1 additional binding (frontend)",
            "POST",
            "/api/u1/chat",
            json={"content": "hi"},
            rpc="Chat",
            request={"content": "hi", "user_id": "u1"},
        ),
        id="1.1-chat-additional",
    ),
    # §1.2 path templates and decoding.
    pytest.param(
        Row(
            "1.2 {var} fully decoded",
            "GET",
            "/v1/probes/a%20b%2Fc",
            rpc="Echo",
            request={"name": "a b/c"},
        ),
        id="1.2-single-segment-decoded",
    ),
    pytest.param(
        Row(
            "1.2 {name=shelves/*/books/*} binds the whole span",
            "GET",
            "/v1/shelves/s1/books/b1",
            rpc="Echo",
            request={"name": "shelves/s1/books/b1"},
        ),
        id="1.2-constrained-variable",
    ),
    pytest.param(
        Row(
            "1.2 ** many segments",
            "GET",
            "/v1/files/a/b/c.txt",
            rpc="Echo",
            request={"path": "a/b/c.txt"},
        ),
        id="1.2-deep-wildcard",
    ),
    pytest.param(
        Row("1.2 ** zero segments", "GET", "/v1/files", rpc="Echo", request={}),
        id="1.2-deep-wildcard-empty",
    ),
    pytest.param(
        Row(
            "1.2 multi-segment keeps %2F",
            "GET",
            "/v1/files/a%2Fb/c%20d",
            rpc="Echo",
            request={"path": "a%2Fb/c d"},
        ),
        id="1.2-multi-segment-keeps-encoded-slash",
    ),
    pytest.param(
        Row(
            "1.2 verb", "POST", "/v1/probes/abc:check", json={}, rpc="Echo", request={"name": "abc"}
        ),
        id="1.2-verb",
    ),
    pytest.param(
        Row(
            "1.2 unregistered verb stays in the variable",
            "GET",
            "/v1/probes/abc:nope",
            rpc="Echo",
            request={"name": "abc:nope"},
        ),
        id="1.2-unregistered-verb",
    ),
    pytest.param(
        Row(
            "1.2 nested field path and int64 path value",
            "GET",
            "/v1/nested/x1/items/42",
            rpc="Echo",
            request={"inner": {"id": "x1"}, "i64": "42"},
        ),
        id="1.2-nested-field-path",
    ),
    pytest.param(
        Row(
            "1.2 enum and Timestamp path values (protojson rules)",
            "GET",
            "/v1/colors/COLOR_BLUE/at/2024-05-06T07:08:09Z",
            rpc="Echo",
            request={"color": "COLOR_BLUE", "at": "2024-05-06T07:08:09Z"},
        ),
        id="1.2-wkt-path-value",
    ),
    pytest.param(
        Row(
            "1.2 bad path value type",
            "GET",
            "/v1/nested/x1/items/notanumber",
            status=400,
            body={
                "code": 3,
                "details": [],
                "message": "type mismatch, parameter: i64, error: 'notanumber' is not a valid int64",
            },
            envoy=differs("400 local reply, plain text", 400),
        ),
        id="1.2-path-type-mismatch",
    ),
    pytest.param(
        Row(
            "1.2 malformed escape",
            "GET",
            "/v1/probes/%zz",
            status=400,
            body={
                "code": 3,
                "details": [],
                "message": "malformed percent-encoding in path segment '%zz'",
            },
            envoy=differs("400 local reply, plain text", 400),
        ),
        id="1.2-malformed-escape",
    ),
    pytest.param(
        Row(
            "1.2 verb on the frontend stream route",
            "POST",
            "/api/chat:stream",
            json={"content": "hi"},
            rpc="StreamChat",
            request={"content": "hi"},
            ndjson=[],
        ),
        id="1.2-verb-stream-route",
    ),
    # §1.5 response_body, precedence, routing errors, fallbacks.
    pytest.param(
        Row(
            "1.5 response_body repeated -> bare array",
            "GET",
            "/api/u1/tasks",
            rpc="ListTasks",
            request={"user_id": "u1"},
            script=Script(
                reply=tasks_service_pb2.ListTasksResponse(
                    tasks=[resources_pb2.Task(id="t1", title="milk")], next_page_token="n"
                )
            ),
            body=[
                {
                    "id": "t1",
                    "user_id": "",
                    "title": "milk",
                    "description": None,
                    "completed": False,
                    "created_at": None,
                    "updated_at": None,
                    "priority": "PRIORITY_UNSPECIFIED",
                    "due_time": None,
                    "tags": [],
                    "completed_at": None,
                }
            ],
            envoy=differs("response_body only for HttpBody: the whole message", 200),
        ),
        id="1.5-response-body-array",
    ),
    pytest.param(
        Row(
            "1.5 response_body of an unset message -> null",
            "GET",
            "/v1/inner/abc",
            rpc="InnerOnly",
            body=None,
            envoy=differs("response_body only for HttpBody"),
        ),
        id="1.5-response-body-null",
    ),
    pytest.param(
        Row(
            "1.5 response_body scalar list",
            "GET",
            "/v1/probes/abc/tags?tags=x&tags=y",
            rpc="Tags",
            body=["x", "y"],
            envoy=differs("response_body only for HttpBody"),
        ),
        id="1.5-response-body-tags",
    ),
    pytest.param(
        Row("1.5 literal beats variable", "GET", "/v1/probes/special", rpc="Literal", request={}),
        id="1.5-literal-beats-variable",
    ),
    pytest.param(
        Row(
            "1.5 unknown path",
            "GET",
            "/v2/nothing",
            status=404,
            body=_NOT_FOUND,
            envoy=_ENVOY_ROUTING,
        ),
        id="1.5-unknown-path-404",
    ),
    pytest.param(
        Row(
            "1.5 trailing slash is another path (no empty {var})",
            "GET",
            "/api/u1/tasks/",
            status=404,
            body=_NOT_FOUND,
            envoy=differs("not verified against Envoy"),
        ),
        id="1.5-trailing-slash-404",
    ),
    pytest.param(
        Row(
            "1.5 wrong method -> UNIMPLEMENTED 501",
            "PUT",
            "/api/conversations",
            status=501,
            body=_NOT_ALLOWED,
            envoy=_ENVOY_ROUTING,
        ),
        id="1.5-wrong-method-501",
    ),
    pytest.param(
        Row(
            "1.5 POST form falls back to GET",
            "POST",
            "/v1/inner/abc",
            content=b"i32=5&tags=a",
            headers={"content-type": "application/x-www-form-urlencoded"},
            rpc="InnerOnly",
            request={"name": "abc", "i32": 5, "tags": ["a"]},
            envoy=differs("no path-length fallback", 404),
        ),
        id="1.5-path-length-fallback",
    ),
    pytest.param(
        Row(
            "1.5 a form POST to a POST route is a POST (JSON decode fails)",
            "POST",
            "/v1/probes/abc",
            content=b"i32=9",
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "x-http-method-override": "DELETE",
            },
            status=400,
            envoy=differs("400 local reply, plain text", 400),
        ),
        id="1.5-form-post-to-post-route",
    ),
]
