"""The OpenAPI plugin on the test probe proto and on the real contract."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from services.gateway.plugins import openapi
from services.gateway.plugins.protocol import respond
from tests.gateway_protos.build import HERE, request_for

ROOT = HERE.parents[1]
# What scripts/gen passes: every proto under proto/, sorted.
_CONTRACT = sorted(str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto").rglob("*.proto"))


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    response = respond(request_for(HERE, ["gwtest/v1/probe.proto"]), openapi.generate)
    assert response.error == ""
    document: dict[str, Any] = json.loads(response.file[0].content)
    return document


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_operation_ids_and_additional_binding_suffixes(doc: dict[str, Any]) -> None:
    ids = {(p, m): o["operationId"] for p, m, o in _operations(doc)}
    assert ids[("/v1/probes/{name}", "get")] == "ProbeService_Echo"
    assert ids[("/v1/probes/{name}", "post")] == "ProbeService_Echo_1"
    assert ids[("/v1/probes", "search")] == "ProbeService_Echo_8"
    assert ids[("/v1/{name}", "get")] == "ProbeService_Echo_5"
    assert len(set(ids.values())) == len(ids)


def test_every_rpc_operation_needs_a_bearer_token(doc: dict[str, Any]) -> None:
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for path, _, operation in _operations(doc):
        expected = [] if path in ("/", "/health", "/openapi.json") else [{"bearerAuth": []}]
        assert operation["security"] == expected, path


def test_errors_are_google_rpc_status(doc: dict[str, Any]) -> None:
    operation = doc["paths"]["/v1/probes/{name}"]["get"]
    assert operation["responses"]["default"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/google.rpc.Status"
    }
    assert operation["responses"]["404"] == {"$ref": "#/components/responses/Http404"}
    responses = doc["components"]["responses"]
    assert responses["Http400"]["description"] == (
        "gRPC FAILED_PRECONDITION, INVALID_ARGUMENT, OUT_OF_RANGE"
    )
    assert "Retry-After" in responses["Http429"]["headers"]
    assert "WWW-Authenticate" in responses["Http401"]["headers"]
    assert "413" in doc["paths"]["/v1/probes/{name}"]["post"]["responses"]


def test_schemas_are_what_the_gateway_emits(doc: dict[str, Any]) -> None:
    probe = doc["components"]["schemas"]["gwtest.v1.Probe"]
    props = probe["properties"]
    assert "json_named" in props and "customJson" not in props
    assert props["i64"]["type"] == "string"
    assert props["color"] == {"$ref": "#/components/schemas/gwtest.v1.Color"}
    assert doc["components"]["schemas"]["gwtest.v1.Color"]["enum"] == [
        "COLOR_UNSPECIFIED",
        "COLOR_RED",
        "COLOR_BLUE",
    ]
    assert props["at"] == {"type": ["string", "null"], "format": "date-time"}
    assert props["meta"] == {"type": ["object", "null"], "additionalProperties": True}
    assert props["any_value"] == {"description": "Any JSON value."}
    assert props["inner"] == {
        "anyOf": [{"$ref": "#/components/schemas/gwtest.v1.Inner"}, {"type": "null"}]
    }
    assert props["note"]["type"] == ["string", "null"]
    assert props["alpha"] == {"type": "string"}  # a real oneof member is omitted, not null
    assert props["labels"] == {"type": "object", "additionalProperties": {"type": "string"}}
    assert probe["required"] == ["name"]
    assert props["server_note"]["readOnly"] is True
    assert "At most one of `alpha`, `beta` is set" in probe["description"]


def test_parameters_and_bodies_follow_the_rule(doc: dict[str, Any]) -> None:
    get = doc["paths"]["/v1/probes/{name}"]["get"]
    names = [(p["name"], p["in"]) for p in get["parameters"]]
    assert names[0] == ("name", "path")
    assert ("inner.id", "query") in names and ("tags", "query") in names
    assert ("labels", "query") not in names
    tags = next(p for p in get["parameters"] if p["name"] == "tags")
    assert tags["schema"] == {"type": "array", "items": {"type": "string"}}
    post = doc["paths"]["/v1/probes/{name}"]["post"]
    assert [p["in"] for p in post["parameters"]] == ["path"]  # body "*" ignores the query
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert "name" not in body["properties"]  # the path binds it
    put = doc["paths"]["/v1/probes/{name}/inner"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"]["anyOf"][0] == {
        "$ref": "#/components/schemas/gwtest.v1.Inner"
    }
    constrained = doc["paths"]["/v1/{name}"]["get"]["parameters"][0]
    assert constrained["description"] == "Bound as `shelves/*/books/*`."


def test_response_body_and_streams(doc: dict[str, Any]) -> None:
    tags = doc["paths"]["/v1/probes/{name}/tags"]["get"]["responses"]["200"]
    assert tags["content"]["application/json"]["schema"]["type"] == "array"
    watch = doc["paths"]["/v1/probes/{name}:watch"]["post"]["responses"]["200"]["content"]
    envelope = watch["application/x-ndjson"]["schema"]
    assert envelope["title"] == "Stream result of gwtest.v1.Probe"
    assert envelope["properties"]["error"] == {"$ref": "#/components/schemas/google.rpc.Status"}
    assert "text/event-stream" in watch
    download = doc["paths"]["/v1/downloads/{name}"]["get"]["responses"]["200"]["content"]
    assert download == {"*/*": {"schema": {"type": "string", "format": "binary"}}}


def test_stream_errors_documented_in_the_stream_framing(doc: dict[str, Any]) -> None:
    """Found by fuzzing: before its first message a stream fails as `{"error": Status}`
    in the negotiated content type, and by default the stream is `application/json`."""
    responses = doc["paths"]["/v1/probes/{name}:watch"]["post"]["responses"]
    assert "application/json" in responses["200"]["content"]
    assert responses["400"] == {"$ref": "#/components/responses/StreamHttp400"}
    assert responses["413"] == {"$ref": "#/components/responses/Http413"}  # before the call
    stream_400 = doc["components"]["responses"]["StreamHttp400"]["content"]
    envelope = stream_400["application/x-ndjson"]["schema"]
    assert envelope["required"] == ["error"]
    assert stream_400["application/json"]["schema"]["anyOf"] == [
        {"$ref": "#/components/schemas/google.rpc.Status"},
        envelope,
    ]
    assert "text/event-stream" in stream_400
    assert "application/x-ndjson" in responses["default"]["content"]
    unary = doc["paths"]["/v1/probes/{name}"]["get"]["responses"]
    assert unary["400"] == {"$ref": "#/components/responses/Http400"}
    assert list(unary["default"]["content"]) == ["application/json"]


def test_builtins_documented_and_refs_resolve(doc: dict[str, Any]) -> None:
    assert {"/", "/health", "/openapi.json"} <= set(doc["paths"])
    assert doc["openapi"] == "3.1.0"
    schemas = doc["components"]["schemas"]
    for target in set(_refs(doc)):
        section, name = target.removeprefix("#/components/").split("/", 1)
        assert name in doc["components"][section], target
    assert "google.protobuf.Any" in schemas


def test_the_committed_document_is_what_the_plugin_writes() -> None:
    response = respond(request_for(ROOT / "proto", _CONTRACT), openapi.generate)
    committed = (ROOT / "gen" / "openapi" / "todochat.openapi.json").read_text(encoding="utf-8")
    assert committed == response.file[0].content
    again = respond(request_for(ROOT / "proto", _CONTRACT), openapi.generate)
    assert again.file[0].content == response.file[0].content


def test_the_frontend_contract_shapes() -> None:
    response = respond(request_for(ROOT / "proto", _CONTRACT), openapi.generate)
    doc = json.loads(response.file[0].content)
    list_tasks = doc["paths"]["/api/{user_id}/tasks"]["get"]["responses"]["200"]
    assert list_tasks["content"]["application/json"]["schema"]["items"] == {
        "$ref": "#/components/schemas/todochat.tasks.v1.Task"
    }
    task = doc["components"]["schemas"]["todochat.tasks.v1.Task"]["properties"]
    assert task["description"]["type"] == ["string", "null"]
    assert task["created_at"]["readOnly"] is True
    assert doc["paths"]["/api/{user_id}/chat"]["post"]["operationId"] == "ChatService_Chat_1"
