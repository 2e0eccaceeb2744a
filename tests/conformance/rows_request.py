"""Rows for reference §1.3: building the request from body, path and query."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.table import Row, differs

_ENVOY_400 = differs("400 local reply, plain text", 400)


def _bad(rule: str, url: str, message: str, method: str = "GET", **kw: Any) -> Row:
    return Row(
        rule,
        method,
        url,
        status=400,
        body={"code": 3, "message": message, "details": []},
        envoy=_ENVOY_400,
        **kw,
    )


def _q(rule: str, query: str, request: dict[str, Any], **kw: Any) -> Row:
    return Row(
        rule, "GET", f"/v1/probes/abc?{query}", rpc="Echo", request={"name": "abc", **request}, **kw
    )


ROWS: list[Any] = [
    # §1.3 building the request message.
    pytest.param(
        Row(
            "1.3 body * decodes the whole body",
            "POST",
            "/v1/probes/abc",
            json={"i32": 5, "tags": ["a"], "inner": {"count": 2}},
            rpc="Echo",
            request={"name": "abc", "i32": 5, "tags": ["a"], "inner": {"count": 2}},
        ),
        id="1.3-body-star",
    ),
    pytest.param(
        Row(
            "1.3 body * ignores the query",
            "POST",
            "/v1/probes/abc?i32=7&flag=true",
            json={},
            rpc="Echo",
            request={"name": "abc"},
            envoy=differs("query params are still bound with body:*"),
        ),
        id="1.3-body-star-ignores-query",
    ),
    pytest.param(
        Row(
            "1.3 the path wins over the body",
            "POST",
            "/v1/probes/abc",
            json={"name": "evil"},
            rpc="Echo",
            request={"name": "abc"},
            envoy=differs("the body value wins"),
        ),
        id="1.3-path-wins-over-body",
    ),
    pytest.param(
        Row(
            "1.3 body field: the body is the field's value",
            "PUT",
            "/v1/probes/abc/inner",
            json={"id": "x", "count": 2},
            rpc="Echo",
            request={"name": "abc", "inner": {"id": "x", "count": 2}},
        ),
        id="1.3-body-field",
    ),
    pytest.param(
        Row(
            "1.3 body field + query for the rest",
            "PUT",
            "/v1/probes/abc/inner?i32=3&tags=t",
            json={"id": "x"},
            rpc="Echo",
            request={"name": "abc", "i32": 3, "tags": ["t"], "inner": {"id": "x"}},
        ),
        id="1.3-body-field-plus-query",
    ),
    pytest.param(
        Row(
            "1.3 the query cannot reach into the body field",
            "PUT",
            "/v1/probes/abc/inner?inner.id=zzz",
            json={"id": "x"},
            rpc="Echo",
            request={"name": "abc", "inner": {"id": "x"}},
        ),
        id="1.3-query-excludes-body-field",
    ),
    pytest.param(
        Row(
            "1.3 no body: the body is drained and ignored",
            "DELETE",
            "/v1/probes/abc?i32=2",
            content=b'{"i32": 1}',
            rpc="Echo",
            request={"name": "abc", "i32": 2},
        ),
        id="1.3-no-body-ignored",
    ),
    pytest.param(
        Row(
            "1.3 empty body with body * is an empty message",
            "POST",
            "/v1/probes/abc",
            rpc="Echo",
            request={"name": "abc"},
        ),
        id="1.3-empty-body",
    ),
    pytest.param(
        Row(
            "1.3 frontend AddTask: path + body *",
            "POST",
            "/api/u1/tasks",
            json={"title": "milk", "dueTime": "2024-01-02T03:04:05Z", "tags": ["home"]},
            rpc="AddTask",
            request={
                "user_id": "u1",
                "title": "milk",
                "due_time": "2024-01-02T03:04:05Z",
                "tags": ["home"],
            },
        ),
        id="1.3-add-task",
    ),
    pytest.param(
        Row(
            "1.3 frontend CompleteTask with no body toggles",
            "PATCH",
            "/api/u1/tasks/t1/complete",
            rpc="CompleteTask",
            request={"user_id": "u1", "task_id": "t1"},
        ),
        id="1.3-complete-task-no-body",
    ),
    pytest.param(
        _bad(
            "1.3 invalid JSON",
            "/v1/probes/abc",
            "invalid JSON body: Expecting property name "
            "enclosed in double quotes: line 1 column 2 (char 1)",
            method="POST",
            content=b"{oops",
        ),
        id="1.3-invalid-json",
    ),
    pytest.param(
        _bad(
            "1.3 body * must be an object",
            "/v1/probes/abc",
            "the request body must be a JSON object",
            method="POST",
            json=[1],
        ),
        id="1.3-body-not-object",
    ),
    pytest.param(
        Row(
            "1.3 body type mismatch",
            "POST",
            "/v1/probes/abc",
            json={"i32": "x"},
            status=400,
            envoy=_ENVOY_400,
        ),
        id="1.3-body-type-mismatch",
    ),
]
