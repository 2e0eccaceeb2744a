"""The protoc plugin protocol: CodeGeneratorRequest on stdin, CodeGeneratorResponse out.

A rule we refuse becomes `CodeGeneratorResponse.error`, which protoc prints and turns
into a non-zero exit, exactly how protoc-gen-grpc-gateway reports a bad rule.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from google.protobuf.compiler import plugin_pb2

from services.gateway.plugins.bindings import RuleError
from services.gateway.plugins.httprule import TemplateError

Generator = Callable[[plugin_pb2.CodeGeneratorRequest], dict[str, str]]


def respond(
    request: plugin_pb2.CodeGeneratorRequest, generate: Generator
) -> plugin_pb2.CodeGeneratorResponse:
    """Runs `generate` and wraps its files (name -> content) or its error."""
    response = plugin_pb2.CodeGeneratorResponse(
        supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    )
    try:
        files = generate(request)
    except (RuleError, TemplateError) as exc:
        response.error = str(exc)
        return response
    for name in sorted(files):
        response.file.add(name=name, content=files[name])
    return response


def main(generate: Generator) -> None:
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    sys.stdout.buffer.write(respond(request, generate).SerializeToString())
