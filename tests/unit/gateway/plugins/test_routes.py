"""The routes plugin on small protos of its own: every HttpRule feature, every refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.gateway.plugins import routes
from services.gateway.plugins.protocol import respond
from tests.gateway_protos.build import HERE, request_for, request_for_text

_HEADER = """syntax = "proto3";
package t;
import "google/api/annotations.proto";
import "google/protobuf/timestamp.proto";
message Sub { string id = 1; repeated string ids = 2; }
message Req {
  string name = 1;
  repeated string tags = 2;
  Sub sub = 3;
  google.protobuf.Timestamp at = 4;
  optional string opt = 5;
  map<string, string> labels = 6;
  repeated Sub subs = 7;
}
message Resp { repeated string items = 1; Sub sub = 2; }
"""


def _run(tmp_path: Path, rule: str, *, streaming: str = "", parameter: str = "") -> tuple[str, str]:
    """Runs the plugin on one RPC with `rule`; returns (error, generated file)."""
    client, server = (
        "stream " if streaming == "client" else "",
        "stream " if streaming == "server" else "",
    )
    text = _HEADER + (
        f"service S {{ rpc M({client}Req) returns ({server}Resp) "
        f"{{ option (google.api.http) = {{ {rule} }}; }} }}\n"
    )
    response = respond(request_for_text(tmp_path, text, parameter), routes.generate)
    files = {f.name: f.content for f in response.file}
    return response.error, files.get("t/t_routes.py", "")


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        pytest.param('get: "/v1/{name}"', 'http_method="GET"', id="get"),
        pytest.param('put: "/v1/{name}" body: "*"', 'http_method="PUT"', id="put"),
        pytest.param('post: "/v1/x" body: "sub"', 'body="sub"', id="post-body-field"),
        pytest.param('delete: "/v1/{name}"', 'http_method="DELETE"', id="delete"),
        pytest.param('patch: "/v1/{name}" body: "sub"', 'http_method="PATCH"', id="patch"),
        pytest.param('custom: {kind: "SEARCH" path: "/v1/x"}', 'http_method="SEARCH"', id="custom"),
        pytest.param(
            'get: "/v1/{name=shelves/*}"',
            'segments=("v1", "shelves", "*"),\n            verb="",\n'
            '            variables=(PathVariable(field_path=("name",), start=1, end=3),)',
            id="constrained-variable",
        ),
        pytest.param('get: "/v1/{name=**}"', 'segments=("v1", "**")', id="deep-wildcard"),
        pytest.param('get: "/v1/*/x"', 'segments=("v1", "*", "x")', id="anonymous-wildcard"),
        pytest.param('post: "/v1/{name}:run" body: "*"', 'verb="run"', id="verb"),
        pytest.param('get: "/v1/{sub.id}"', 'field_path=("sub", "id")', id="nested-field-path"),
        pytest.param('get: "/v1/{at}"', 'field_path=("at",)', id="wkt-path-variable"),
        pytest.param(
            'get: "/v1/x" response_body: "items"', 'response_body="items"', id="response-body"
        ),
        pytest.param('get: "/v1/%7Ex"', 'segments=("v1", "~x")', id="literal-decoded"),
        pytest.param(
            'get: "/v1/a" additional_bindings {post: "/v1/b" body: "*"}',
            "binding_index=1",
            id="additional-binding",
        ),
    ],
)
def test_every_feature_compiles(tmp_path: Path, rule: str, expected: str) -> None:
    error, generated = _run(tmp_path, rule)
    assert error == ""
    assert expected in generated


@pytest.mark.parametrize(
    ("rule", "streaming", "parameter", "message"),
    [
        pytest.param(
            'get: "/v1/x" body: "*"',
            "",
            "",
            "must not set request body when http method is GET: M",
            id="get-with-body",
        ),
        pytest.param(
            'delete: "/v1/x" body: "*"',
            "",
            "",
            "must not set request body when http method is DELETE except "
            "allow_delete_body option is true: M",
            id="delete-with-body",
        ),
        pytest.param(
            'get: "/v1/a" additional_bindings {get: "/v1/b" additional_bindings {get: "/v1/c"}}',
            "",
            "",
            "additional_binding in additional_binding not allowed: S.M",
            id="nested-additional",
        ),
        pytest.param(
            'get: "/v1/{tags}"',
            "",
            "",
            "S.M: tags is a repeated field; path parameters must be singular",
            id="repeated-path-variable",
        ),
        pytest.param(
            'get: "/v1/{labels}"',
            "",
            "",
            "S.M: labels is a repeated field; path parameters must be singular",
            id="map-path-variable",
        ),
        pytest.param(
            'get: "/v1/{sub}"',
            "",
            "",
            "S.M: sub is a protobuf message type. Protobuf message types cannot be used "
            "as path parameters, use a scalar value type (such as string) instead",
            id="message-path-variable",
        ),
        pytest.param(
            'get: "/v1/{subs.id}"',
            "",
            "",
            "path parameter 'subs.id' steps through repeated field 'subs'",
            id="path-through-repeated",
        ),
        pytest.param(
            'get: "/v1/{opt}"',
            "",
            "",
            "optional field not allowed in field path: opt in opt",
            id="optional-path",
        ),
        pytest.param(
            'post: "/v1/{name}" body: "*"',
            "client",
            "",
            "S.M: cannot use path parameter in client streaming",
            id="client-stream-path",
        ),
        pytest.param(
            'get: "/v1/{nope}"',
            "",
            "",
            "no field 'nope' found in Req (path parameter)",
            id="unknown-path-field",
        ),
        pytest.param(
            'post: "/v1/x" body: "nope"',
            "",
            "",
            "no field 'nope' found in Req (body)",
            id="unknown-body-field",
        ),
        pytest.param(
            'get: "/v1/x" response_body: "nope"',
            "",
            "",
            "no field 'nope' found in Resp (response_body)",
            id="unknown-response-body",
        ),
        pytest.param(
            'get: "/v1/**/x"',
            "",
            "",
            "S.M: invalid path template '/v1/**/x': '**' must "
            "be the last segment (only a verb may follow)",
            id="deep-wildcard-not-last",
        ),
        pytest.param(
            'get: "v1/x"',
            "",
            "",
            "S.M: invalid path template 'v1/x': it must start with '/'",
            id="no-leading-slash",
        ),
        pytest.param(
            'get: "/v1/{name={sub.id}}"', "", "", "variables cannot be nested", id="nested-variable"
        ),
        pytest.param(
            'get: "/v1/{name}/{name}"', "", "", "field 'name' is bound twice", id="bound-twice"
        ),
        pytest.param(
            'get: "/v1/x"', "", "colour=blue", "unknown plugin option 'colour'", id="unknown-option"
        ),
    ],
)
def test_rejected_rules(
    tmp_path: Path, rule: str, streaming: str, parameter: str, message: str
) -> None:
    error, generated = _run(tmp_path, rule, streaming=streaming, parameter=parameter)
    assert message in error
    assert generated == ""


def test_allow_delete_body_option(tmp_path: Path) -> None:
    error, generated = _run(
        tmp_path, 'delete: "/v1/x" body: "*"', parameter="allow_delete_body=true"
    )
    assert error == ""
    assert 'http_method="DELETE"' in generated


def test_methods_without_rules_are_skipped(tmp_path: Path) -> None:
    text = _HEADER + "service S { rpc M(Req) returns (Resp); }\n"
    response = respond(request_for_text(tmp_path, text), routes.generate)
    assert response.error == ""
    assert list(response.file) == []


def test_output_is_deterministic_and_marked() -> None:
    request = request_for(HERE, ["gwtest/v1/probe.proto"])
    first = respond(request, routes.generate)
    second = respond(request, routes.generate)
    assert first.SerializeToString() == second.SerializeToString()
    content = first.file[0].content
    assert first.file[0].name == "gwtest/v1/probe_routes.py"
    assert content.startswith(
        "# Generated by protoc-gen-todochat-routes from gwtest/v1/probe.proto. DO NOT EDIT."
    )
    assert "from gwtest.v1 import probe_pb2 as _gwtest_v1_probe_pb2" in content


def test_the_committed_route_tables_are_what_the_plugin_writes() -> None:
    root = HERE.parents[1]
    files = sorted(str(p.relative_to(root / "proto")) for p in (root / "proto").rglob("*.proto"))
    response = respond(request_for(root / "proto", files), routes.generate)
    for generated in response.file:
        committed = (root / "gen" / "python" / generated.name).read_text(encoding="utf-8")
        assert committed == generated.content, generated.name
