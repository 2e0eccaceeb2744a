"""Rows for reference §1.4: query parameters into request fields."""

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
    # §1.4 query parameters.
    pytest.param(
        _q("1.4 dotted path", "inner.id=x&inner.count=3", {"inner": {"id": "x", "count": 3}}),
        id="1.4-dotted-path",
    ),
    pytest.param(
        Row(
            "1.4 JSON name accepted",
            "GET",
            "/api/u1/tasks?pageSize=5&pageToken=z",
            rpc="ListTasks",
            request={"user_id": "u1", "page_size": 5, "page_token": "z"},
        ),
        id="1.4-json-name",
    ),
    pytest.param(
        _q("1.4 custom json_name", "customJson=v", {"json_named": "v"}), id="1.4-custom-json-name"
    ),
    pytest.param(
        _q(
            "1.4 unknown parameter ignored",
            "nope=1&inner.nope=2",
            {},
            envoy=differs("reject_unknown_query_parameters: 400", 400),
        ),
        id="1.4-unknown-ignored",
    ),
    pytest.param(_q("1.4 repeated keys", "tags=a&tags=b", {"tags": ["a", "b"]}), id="1.4-repeated"),
    pytest.param(
        _q("1.4 commas are not separators", "tags=a,b", {"tags": ["a,b"]}), id="1.4-no-comma-split"
    ),
    pytest.param(
        _bad(
            "1.4 singular twice",
            "/v1/probes/abc?i32=1&i32=2",
            "too many values for field 'i32': 1, 2",
        ),
        id="1.4-too-many-values",
    ),
    pytest.param(
        _bad(
            "1.4 second oneof member",
            "/v1/probes/abc?alpha=a&beta=2",
            "field already set for oneof 'choice'",
        ),
        id="1.4-oneof-conflict",
    ),
    pytest.param(
        _q(
            "1.4 map",
            "labels[env]=prod&by_id[7]=x",
            {"labels": {"env": "prod"}, "by_id": {"7": "x"}},
        ),
        id="1.4-map",
    ),
    pytest.param(_q("1.4 bool spellings", "flag=t", {"flag": True}), id="1.4-bool-t"),
    pytest.param(_q("1.4 bool False", "flag=False&alpha=x", {"alpha": "x"}), id="1.4-bool-false"),
    pytest.param(
        _bad(
            "1.4 bad bool",
            "/v1/probes/abc?flag=yes",
            "type mismatch, parameter: flag, error: 'yes' is not a valid bool",
        ),
        id="1.4-bad-bool",
    ),
    pytest.param(
        _bad(
            "1.4 int32 range",
            "/v1/probes/abc?i32=2147483648",
            "type mismatch, parameter: i32, error: '2147483648' is out of range for int32",
        ),
        id="1.4-int32-range",
    ),
    pytest.param(
        _q("1.4 int64 beyond 2^53", "i64=9007199254740993", {"i64": "9007199254740993"}),
        id="1.4-int64",
    ),
    pytest.param(
        _bad(
            "1.4 negative uint64",
            "/v1/probes/abc?u64=-1",
            "type mismatch, parameter: u64, error: '-1' is not a valid uint64",
        ),
        id="1.4-uint64-negative",
    ),
    pytest.param(
        _q("1.4 floats", "dbl=1.5e3&flt=-Inf", {"dbl": 1500.0, "flt": "-Infinity"}), id="1.4-floats"
    ),
    pytest.param(
        _q("1.4 bytes: standard base64", "data=aGk%3D", {"data": "aGk="}), id="1.4-bytes-std"
    ),
    pytest.param(
        _q("1.4 bytes: URL-safe base64", "data=-_8%3D", {"data": "+/8="}), id="1.4-bytes-urlsafe"
    ),
    pytest.param(
        _q(
            "1.4 enum by name and number",
            "color=COLOR_RED&colors=COLOR_BLUE&colors=1",
            {"color": "COLOR_RED", "colors": ["COLOR_BLUE", "COLOR_RED"]},
        ),
        id="1.4-enum",
    ),
    pytest.param(
        _bad(
            "1.4 enum names are case-sensitive",
            "/v1/probes/abc?color=color_red",
            "type mismatch, parameter: color, error: 'color_red' is not a valid gwtest.v1.Color",
        ),
        id="1.4-enum-case",
    ),
    pytest.param(
        _q(
            "1.4 Timestamp RFC 3339 nanos",
            "at=2024-01-02T03:04:05.123456789%2B01:00",
            {"at": "2024-01-02T02:04:05.123456789Z"},
        ),
        id="1.4-timestamp",
    ),
    pytest.param(
        _q("1.4 Duration in Go syntax", "ttl=1h2m0.5s", {"ttl": "3720.500s"}), id="1.4-duration"
    ),
    pytest.param(
        _bad(
            "1.4 Duration without unit",
            "/v1/probes/abc?ttl=5",
            "type mismatch, parameter: ttl, error: '5' is not a valid duration",
        ),
        id="1.4-duration-bad",
    ),
    pytest.param(_q("1.4 FieldMask one list", "mask=a,b.c", {"mask": "a,b.c"}), id="1.4-fieldmask"),
    pytest.param(
        _q("1.4 wrapper as bare scalar", "wrapped=42&maybe=", {"wrapped": "42", "maybe": ""}),
        id="1.4-wrappers",
    ),
    pytest.param(
        _q(
            "1.4 Struct and Value as JSON text",
            "meta=%7B%22a%22%3A1%7D&any_value=%5B1%5D",
            {"meta": {"a": 1.0}, "any_value": [1.0]},
        ),
        id="1.4-struct-value",
    ),
    pytest.param(
        _q(
            "1.4 repeated Timestamp",
            "times=2024-01-01T00:00:00Z&times=2024-01-02T00:00:00Z",
            {"times": ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"]},
        ),
        id="1.4-repeated-timestamp",
    ),
    pytest.param(
        _bad(
            "1.4 other messages are unsupported",
            "/v1/probes/abc?inner=x",
            "type mismatch, parameter: inner, error: unsupported message type: 'gwtest.v1.Inner'",
        ),
        id="1.4-unsupported-message",
    ),
    pytest.param(
        _bad(
            "1.4 only messages can be traversed",
            "/v1/probes/abc?i32.x=1",
            "invalid path: 'i32' is not a message",
        ),
        id="1.4-traverse-scalar",
    ),
    pytest.param(
        _bad(
            "1.4 repeated messages cannot be traversed",
            "/v1/probes/abc?inners.id=1",
            "invalid path: 'inners' is not a message",
        ),
        id="1.4-traverse-repeated",
    ),
    pytest.param(_q("1.4 + is a space", "alpha=buy+milk", {"alpha": "buy milk"}), id="1.4-plus"),
    pytest.param(
        Row(
            "1.4 a query key never overrides a path binding, in either spelling",
            "GET",
            "/api/u1/tasks?userId=evil&user_id=evil2",
            rpc="ListTasks",
            request={"user_id": "u1"},
            envoy=differs("not verified against Envoy"),
        ),
        id="1.4-query-cannot-override-path",
    ),
]
