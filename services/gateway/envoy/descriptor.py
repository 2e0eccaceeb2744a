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


def _response_body(service: str, method: descriptor_pb2.MethodDescriptorProto) -> str:
    rule = method.options.Extensions[annotations_pb2.http]
    fields = {rule.response_body} | {b.response_body for b in rule.additional_bindings}
    if len(fields) > 1:
        # After transcoding every binding reaches the same gRPC path, so one answer only.
        raise ValueError(
            f"{service}.{method.name}: bindings disagree on response_body {sorted(fields)}; "
            "Envoy cannot tell them apart"
        )
    return str(fields.pop())


def _unwrap(
    service: str,
    method: descriptor_pb2.MethodDescriptorProto,
    types: dict[str, descriptor_pb2.DescriptorProto],
) -> Unwrap | None:
    field_name = _response_body(service, method)
    if not field_name:
        return None
    output = types[method.output_type]
    for candidate in output.field:
        if candidate.name == field_name:
            absent = "[]" if candidate.label == _REPEATED else "null"
            return Unwrap(method=method.name, field=field_name, absent=absent)
    raise ValueError(f"{service}.{method.name}: response_body {field_name!r} is not a field")


def transcoded_services(
    files: Iterable[descriptor_pb2.FileDescriptorProto],
) -> list[TranscodedService]:
    """Every service with at least one HttpRule, sorted by name; google.* is skipped."""
    files = list(files)
    types = {
        name: message
        for file in files
        for name, message in _messages(
            f".{file.package}" if file.package else "", file.message_type
        )
    }
    found: list[TranscodedService] = []
    for file in files:
        if file.package.startswith("google."):
            continue
        for service in file.service:
            annotated = [m for m in service.method if _rule(m) is not None]
            if not annotated:
                continue
            full_name = f"{file.package}.{service.name}" if file.package else service.name
            unwraps = [_unwrap(full_name, m, types) for m in annotated]
            found.append(
                TranscodedService(
                    full_name=full_name,
                    cluster=cluster_for_package(file.package),
                    streaming_methods=tuple(
                        m.name for m in service.method if m.server_streaming or m.client_streaming
                    ),
                    unwraps=tuple(u for u in unwraps if u is not None),
                )
            )
    return sorted(found, key=lambda s: s.full_name)


@dataclass(frozen=True)
class EnvoyDescriptor:
    services: tuple[TranscodedService, ...]
    # The descriptor set Envoy loads: ours minus response_body and source comments.
    data: bytes


def for_envoy(data: bytes) -> EnvoyDescriptor:
    """The services of the descriptor set `data`, and the copy Envoy can load."""
    descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(data)
    services = transcoded_services(descriptor_set.file)
    if not services:
        raise ValueError("the descriptor set has no service with a google.api.http rule")
    for file in descriptor_set.file:
        file.ClearField("source_code_info")
        for service in file.service:
            for method in service.method:
                if _rule(method) is None:
                    continue
                rule = method.options.Extensions[annotations_pb2.http]
                rule.ClearField("response_body")
                for binding in rule.additional_bindings:
                    binding.ClearField("response_body")
    return EnvoyDescriptor(
        services=tuple(services), data=descriptor_set.SerializeToString(deterministic=True)
    )
