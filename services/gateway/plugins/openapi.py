"""protoc-gen-todochat-openapi: one merged OpenAPI 3.1 document for every bound RPC.

Operations come from the same checked bindings as the route table (operationId
`Service_Method`, `_1`, `_2`... for additional bindings). Error responses are read
from the runtime's one status table, so the document lists what the gateway sends.
Output is deterministic: paths sorted, schemas sorted, no timestamps.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import descriptor
from google.protobuf.compiler import plugin_pb2
from google.rpc import code_pb2

from services.gateway.plugins import httprule, protocol
from services.gateway.plugins.bindings import (
    WELL_KNOWN_SCALARS,
    Binding,
    Options,
    build_pool,
    file_bindings,
    resolve_field_path,
)
from services.gateway.plugins.schemas import Comments, Schema, SchemaBuilder, ref
from services.gateway.runtime.errors import HTTP_STATUS_BY_CODE

OUTPUT = "todochat.openapi.json"
_STATUS_CONTENT = {"application/json": {"schema": ref("google.rpc.Status")}}
_ERROR_STATUSES = (400, 401, 403, 404, 429, 500, 503, 504)
_SSE = (
    "Server-Sent Events, when the request has `Accept: text/event-stream`: each message is "
    "`event: result` + `data: <message JSON>`, a failure `event: error` + `data: <google.rpc.Status "
    "JSON>`; every event ends with a blank line."
)
_NDJSON = (
    'Newline-delimited JSON, one `{"result": ...}` per message and, on failure, a final '
    '`{"error": <google.rpc.Status>}` (grpc-gateway framing). Sent as `application/json` '
    "unless the request accepts `application/x-ndjson`."
)
# A stream that fails before its first message keeps the stream's framing under the
# mapped status (grpc-gateway's errorChunk); only a request refused before the call
# (an unreadable body, one over the size limit) gets a bare Status.
_STREAM_ERROR = {
    "type": "object",
    "properties": {"error": ref("google.rpc.Status")},
    "required": ["error"],
}
_STREAM_ERROR_CONTENT = {
    "application/json": {"schema": {"anyOf": [ref("google.rpc.Status"), _STREAM_ERROR]}},
    "application/x-ndjson": {"schema": _STREAM_ERROR},
    "text/event-stream": {"schema": {"type": "string"}},
}
_STREAM_ERROR_NOTE = (
    ' A stream failing before its first message answers in its framing: `{"error": '
    "<google.rpc.Status>}` (or an SSE `error` event); a request refused before the call "
    "is a bare Status."
)


def _error_responses(streams: bool) -> dict[str, Any]:
    """`Http<status>` for every operation; with `streams`, `StreamHttp<status>` too."""
    names = {v: k for k, v in code_pb2.Code.items()}
    responses: dict[str, Any] = {}
    for status in (*_ERROR_STATUSES, 413, 501):
        codes = sorted(names[c] for c, h in HTTP_STATUS_BY_CODE.items() if h == status)
        text = "gRPC " + ", ".join(codes) if codes else "request body over the size limit"
        response: dict[str, Any] = {"description": text, "content": _STATUS_CONTENT}
        if status == 401:
            response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        if status == 429:
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait, from the status's RetryInfo.",
                    "schema": {"type": "integer"},
                }
            }
        responses[f"Http{status}"] = response
        # 413 is decided before any call and 501 before routing: always a bare Status.
        if streams and status not in (413, 501):
            responses[f"StreamHttp{status}"] = {
                **response,
                "description": text + "." + _STREAM_ERROR_NOTE,
                "content": _STREAM_ERROR_CONTENT,
            }
    return responses


class DocumentBuilder:
    def __init__(self, comments: Comments) -> None:
        self.comments = comments
        self.schemas = SchemaBuilder(comments)
        self.paths: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, str] = {}
        self.has_streams = False

    def add(self, binding: Binding) -> None:
        method = binding.method
        service = method.containing_service
        self.tags[service.name] = self.comments.get(service.full_name)
        operation_id = f"{service.name}_{method.name}" + (
            f"_{binding.index}" if binding.index else ""
        )
        description = self.comments.get(method.full_name)
        operation: dict[str, Any] = {
            "operationId": operation_id,
            "tags": [service.name],
            "summary": description.split("\n", 1)[0] if description else method.name,
            "description": description,
            "security": [{"bearerAuth": []}],
            "parameters": self.parameters(binding),
        }
        if binding.body:
            operation["requestBody"] = self.request_body(binding)
        operation["responses"] = self.responses(binding)
        path = httprule.openapi_path(binding.template)
        self.paths.setdefault(path, {})[binding.http_method.lower()] = operation

    def parameters(self, binding: Binding) -> list[dict[str, Any]]:
        params: list[dict[str, Any]] = []
        request = binding.method.input_type
        for var in binding.template.variables:
            field = resolve_field_path(request, var.field_path, "path parameter")[-1]
            schema = self.schemas.type_schema(field)
            param: dict[str, Any] = {"name": var.dotted, "in": "path", "required": True}
            span = binding.template.segments[var.start : var.end]
            if len(span) > 1:
                param["description"] = "Bound as `" + "/".join(span) + "`."
            params.append({**param, "schema": schema})
        if binding.body == "*" or binding.method.client_streaming:
            return params
        taken = {v.field_path for v in binding.template.variables}
        if binding.body:
            taken.add(tuple(binding.body.split(".")))
        params.extend(self.query_parameters(request, (), taken, depth=0))
        return params

    def query_parameters(
        self,
        message: descriptor.Descriptor,
        prefix: tuple[str, ...],
        taken: set[tuple[str, ...]],
        depth: int,
    ) -> list[dict[str, Any]]:
        params: list[dict[str, Any]] = []
        for field in message.fields:
            path = (*prefix, field.name)
            if any(path[: len(t)] == t for t in taken):
                continue
            sub = field.message_type
            if sub is not None and sub.GetOptions().map_entry:
                continue  # `name[key]=value`; not expressible as one OpenAPI parameter
            if sub is not None and sub.full_name not in WELL_KNOWN_SCALARS:
                if not field.is_repeated and depth < 3:
                    params.extend(self.query_parameters(sub, path, taken, depth + 1))
                continue
            schema = self.schemas.type_schema(field)
            if field.is_repeated:
                schema = {"type": "array", "items": schema}
            param: dict[str, Any] = {"name": ".".join(path), "in": "query", "schema": schema}
            if field.is_repeated:
                param.update(style="form", explode=True)
            description = self.comments.get(field.full_name)
            if description:
                param["description"] = description
            params.append(param)
        return params

    def request_body(self, binding: Binding) -> dict[str, Any]:
        request = binding.method.input_type
        if binding.body == "*":
            bound = frozenset(
                v.field_path[0] for v in binding.template.variables if len(v.field_path) == 1
            )
            schema = (
                self.schemas.object_schema(request, skip=bound)
                if bound
                else self.schemas.message_ref(request)
            )
        else:
            field = resolve_field_path(request, tuple(binding.body.split(".")), "body")[-1]
            schema = self.schemas.field_schema(field)
        if binding.method.client_streaming:
            schema = {"description": "Concatenated or newline-separated JSON messages.", **schema}
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    def response_schema(self, binding: Binding) -> Schema:
        response = binding.method.output_type
        if not binding.response_body:
            return self.schemas.message_ref(response)
        field = resolve_field_path(
            response, tuple(binding.response_body.split(".")), "response_body"
        )[-1]
        return self.schemas.field_schema(field)

    def responses(self, binding: Binding) -> dict[str, Any]:
        schema = self.response_schema(binding)
        request_id = {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}}
        streaming = binding.method.server_streaming
        if streaming:
            self.has_streams = True
            envelope = {
                "type": "object",
                "title": f"Stream result of {binding.method.output_type.full_name}",
                "properties": {"result": schema, "error": ref("google.rpc.Status")},
            }
            ok: dict[str, Any] = {
                "description": f"A stream. {_NDJSON} {_SSE}",
                "headers": request_id,
                "content": {
                    "application/json": {"schema": envelope},
                    "application/x-ndjson": {"schema": envelope},
                    "text/event-stream": {"schema": {"type": "string"}},
                },
            }
        elif binding.method.output_type.full_name == "google.api.HttpBody":
            ok = {
                "description": "Raw bytes, with the HttpBody's content type.",
                "headers": request_id,
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            }
        else:
            ok = {
                "description": "OK",
                "headers": request_id,
                "content": {"application/json": {"schema": schema}},
            }
        responses: dict[str, Any] = {"200": ok}
        statuses = list(_ERROR_STATUSES) + ([413] if binding.body else [])
        for status in sorted(statuses):
            prefix = "StreamHttp" if streaming and status != 413 else "Http"
            responses[str(status)] = {"$ref": f"#/components/responses/{prefix}{status}"}
        responses["default"] = {
            "description": "Any other error." + (_STREAM_ERROR_NOTE if streaming else ""),
            "content": _STREAM_ERROR_CONTENT if streaming else _STATUS_CONTENT,
        }
        return responses

    def document(self) -> dict[str, Any]:
        paths = {**self.paths, **_builtin_paths()}
        return {
            "openapi": "3.1.0",
            "info": {
                "title": "todochat",
                "version": "v1",
                "description": "REST/JSON face of TaskService and ChatService, transcoded from "
                "gRPC with grpc-gateway semantics (proto field names in JSON).",
            },
            "tags": [
                {"name": n, "description": d} if d else {"name": n}
                for n, d in sorted(self.tags.items())
            ],
            "paths": {p: paths[p] for p in sorted(paths)},
            "components": {
                "schemas": {n: self.schemas.schemas[n] for n in sorted(self.schemas.schemas)},
                "responses": _error_responses(self.has_streams),
                "headers": {
                    "X-Request-Id": {
                        "description": "The request id (echoed, or generated when absent).",
                        "schema": {"type": "string"},
                    }
                },
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                },
            },
        }


def _builtin_paths() -> dict[str, Any]:
    def get(op_id: str, summary: str, ok: Schema, extra: dict[str, Any] | None = None) -> Any:
        responses = {"200": {"description": "OK", "content": {"application/json": {"schema": ok}}}}
        responses.update(extra or {})
        return {
            "get": {
                "operationId": op_id,
                "tags": ["Gateway"],
                "summary": summary,
                "security": [],
                "responses": responses,
            }
        }

    health = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["healthy", "unhealthy"]},
            "backends": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "required": ["status"],
    }
    index = {
        "type": "object",
        "properties": {n: {"type": "string"} for n in ("name", "version", "openapi")},
        "required": ["name", "version", "openapi"],
    }
    unhealthy = {
        "503": {
            "description": "A backend is not SERVING.",
            "content": {"application/json": {"schema": health}},
        }
    }
    return {
        "/": get("Gateway_Index", "Name, version and where the OpenAPI document is.", index),
        "/health": get("Gateway_Health", "grpc.health.v1 of every backend.", health, unhealthy),
        "/openapi.json": get("Gateway_OpenApi", "This document.", {"type": "object"}),
    }


def generate(request: plugin_pb2.CodeGeneratorRequest) -> dict[str, str]:
    options = Options.parse(request.parameter)
    pool = build_pool(request)
    wanted = set(request.file_to_generate)
    # Every file's comments: messages defined in imported files get described too.
    comments = Comments(list(request.proto_file))
    builder = DocumentBuilder(comments)
    bindings = [b for name in sorted(wanted) for b in file_bindings(pool, name, options)]
    if not bindings:
        return {}
    for binding in bindings:
        builder.add(binding)
    return {OUTPUT: json.dumps(builder.document(), indent=2, ensure_ascii=False) + "\n"}


def main() -> None:
    protocol.main(generate)


if __name__ == "__main__":
    main()
