"""What Envoy must know about our services, read from the generated descriptor set.

Nothing here is listed by hand: a service is transcoded when one of its methods has
a `google.api.http` rule; its cluster is named after its package (the component before
the version, `todochat.tasks.v1` -> `tasks`); its streaming methods get routes without
a response timeout. A proto change therefore only needs `scripts/gen`.

Envoy refuses to start when any rule sets `response_body` on a field that is not a
`google.api.HttpBody` ("not supported yet for non-HttpBody fields"), and our list and
single-task responses rely on it for the frontend's bare arrays and bare objects. So
Envoy loads a copy of the descriptor set without `response_body` (and without source
comments, which it never reads), and each such method is listed as an `Unwrap` for the
Lua filter that cuts the field out of the transcoded JSON (see bootstrap.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

_VERSION = re.compile(r"v\d+([a-z]+\d*)?")
_REPEATED = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
_HTTP_BODY = ".google.api.HttpBody"


@dataclass(frozen=True)
class Unwrap:
    """A method whose REST response is one field of its gRPC response."""

    method: str
    field: str
    # The JSON to answer when Envoy omits the field: `[]` for a list, else `null`.
    absent: str


@dataclass(frozen=True)
class TranscodedService:
    """One gRPC service the transcoder exposes, and where its calls go."""

    full_name: str
    cluster: str
    streaming_methods: tuple[str, ...]
    unwraps: tuple[Unwrap, ...]

    @property
    def path_prefix(self) -> str:
        """The gRPC path prefix of its methods, which routes match after transcoding."""
        return f"/{self.full_name}/"

    def method_path(self, method: str) -> str:
        return f"/{self.full_name}/{method}"


def cluster_for_package(package: str) -> str:
    """`todochat.tasks.v1` -> `tasks`: the last package component that is not a version."""
    parts = [p for p in package.split(".") if p]
    while parts and _VERSION.fullmatch(parts[-1]):
        parts.pop()
    if not parts:
        raise ValueError(f"package {package!r} has no component to name a cluster after")
    return parts[-1]


def _rule(method: descriptor_pb2.MethodDescriptorProto) -> object | None:
    if not method.options.HasExtension(annotations_pb2.http):
        return None
    rule: object = method.options.Extensions[annotations_pb2.http]
    return rule


def _messages(
    prefix: str, messages: Iterable[descriptor_pb2.DescriptorProto]
) -> Iterator[tuple[str, descriptor_pb2.DescriptorProto]]:
    for message in messages:
        name = f"{prefix}.{message.name}"
        yield name, message
        yield from _messages(name, message.nested_type)


def _field(
    method: descriptor_pb2.MethodDescriptorProto,
    name: str,
    types: dict[str, descriptor_pb2.DescriptorProto],
) -> descriptor_pb2.FieldDescriptorProto:
    for candidate in types[method.output_type].field:
        if candidate.name == name:
            return candidate
    raise ValueError(f"{method.name}: response_body {name!r} is not a field of its response")


def _unwrap(
    service: str,
    method: descriptor_pb2.MethodDescriptorProto,
    types: dict[str, descriptor_pb2.DescriptorProto],
) -> tuple[Unwrap | None, str | None]:
    """How Envoy answers the method's response_body: (the unwrap, or why it cannot)."""
    rule = method.options.Extensions[annotations_pb2.http]
    names = {rule.response_body} | {b.response_body for b in rule.additional_bindings}
    if names == {""}:
        return None, None
    where = f"{service}.{method.name}"
    if len(names) > 1:
        # After transcoding every binding reaches the same gRPC path and route.
        return None, f"{where}: bindings disagree on response_body {sorted(names)}"
    field = _field(method, names.pop(), types)
    if field.type_name == _HTTP_BODY:
        return None, None  # the one case Envoy supports itself
    if method.server_streaming:
        return None, f"{where}: response_body on a stream (the Lua filter buffers whole bodies)"
    absent = "[]" if field.label == _REPEATED else "null"
    return Unwrap(method=method.name, field=field.name, absent=absent), None


def _types(
    files: Iterable[descriptor_pb2.FileDescriptorProto],
) -> dict[str, descriptor_pb2.DescriptorProto]:
    return {
        name: message
        for file in files
        for name, message in _messages(
            f".{file.package}" if file.package else "", file.message_type
        )
    }


def transcoded_services(
    files: Iterable[descriptor_pb2.FileDescriptorProto], *, strict: bool = True
) -> list[TranscodedService]:
    """Every service with at least one HttpRule, sorted by name; google.* is skipped.

    `strict` refuses rules Envoy cannot answer like grpc-gateway; otherwise those
    methods answer with their whole response message.
    """
    files = list(files)
    types = _types(files)
    found: list[TranscodedService] = []
    problems: list[str] = []
    for file in files:
        if file.package.startswith("google."):
            continue
        for service in file.service:
            annotated = [m for m in service.method if _rule(m) is not None]
            if not annotated:
                continue
            full_name = f"{file.package}.{service.name}" if file.package else service.name
            plans = [_unwrap(full_name, m, types) for m in annotated]
            problems += [problem for _, problem in plans if problem is not None]
            found.append(
                TranscodedService(
                    full_name=full_name,
                    cluster=cluster_for_package(file.package),
                    streaming_methods=tuple(
                        m.name for m in service.method if m.server_streaming or m.client_streaming
                    ),
                    unwraps=tuple(u for u, _ in plans if u is not None),
                )
            )
    if strict and problems:
        raise ValueError(
            "Envoy cannot answer these rules like grpc-gateway:\n" + "\n".join(problems)
        )
    return sorted(found, key=lambda s: s.full_name)


@dataclass(frozen=True)
class EnvoyDescriptor:
    services: tuple[TranscodedService, ...]
    # The descriptor set Envoy loads: ours minus response_body and source comments.
    data: bytes


def for_envoy(data: bytes, *, strict: bool = True) -> EnvoyDescriptor:
    """The services of the descriptor set `data`, and the copy Envoy can load."""
    descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(data)
    services = transcoded_services(descriptor_set.file, strict=strict)
    if not services:
        raise ValueError("the descriptor set has no service with a google.api.http rule")
    types = _types(descriptor_set.file)
    for file in descriptor_set.file:
        file.ClearField("source_code_info")
        for service in file.service:
            for method in service.method:
                if _rule(method) is None:
                    continue
                rule = method.options.Extensions[annotations_pb2.http]
                for binding in (rule, *rule.additional_bindings):
                    name = binding.response_body
                    if name and _field(method, name, types).type_name != _HTTP_BODY:
                        binding.ClearField("response_body")
    return EnvoyDescriptor(
        services=tuple(services), data=descriptor_set.SerializeToString(deterministic=True)
    )
