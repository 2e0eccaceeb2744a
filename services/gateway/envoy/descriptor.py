"""What Envoy must know about our services, read from the generated descriptor set.

Nothing here is listed by hand: a service is transcoded when one of its methods has
a `google.api.http` rule; its cluster is named after its package (the component before
the version, `todochat.tasks.v1` -> `tasks`); its streaming methods get routes without
a response timeout. A proto change therefore only needs `scripts/gen`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

_VERSION = re.compile(r"v\d+([a-z]+\d*)?")


@dataclass(frozen=True)
class TranscodedService:
    """One gRPC service the transcoder exposes, and where its calls go."""

    full_name: str
    cluster: str
    streaming_methods: tuple[str, ...]

    @property
    def path_prefix(self) -> str:
        """The gRPC path prefix of its methods, which routes match after transcoding."""
        return f"/{self.full_name}/"


def cluster_for_package(package: str) -> str:
    """`todochat.tasks.v1` -> `tasks`: the last package component that is not a version."""
    parts = [p for p in package.split(".") if p]
    while parts and _VERSION.fullmatch(parts[-1]):
        parts.pop()
    if not parts:
        raise ValueError(f"package {package!r} has no component to name a cluster after")
    return parts[-1]


def _has_http_rule(method: descriptor_pb2.MethodDescriptorProto) -> bool:
    return bool(method.options.HasExtension(annotations_pb2.http))


def transcoded_services(
    files: Iterable[descriptor_pb2.FileDescriptorProto],
) -> list[TranscodedService]:
    """Every service with at least one HttpRule, sorted by name; google.* is skipped."""
    found: list[TranscodedService] = []
    for file in files:
        if file.package.startswith("google."):
            continue
        for service in file.service:
            if not any(_has_http_rule(m) for m in service.method):
                continue
            found.append(
                TranscodedService(
                    full_name=f"{file.package}.{service.name}" if file.package else service.name,
                    cluster=cluster_for_package(file.package),
                    streaming_methods=tuple(
                        m.name for m in service.method if m.server_streaming or m.client_streaming
                    ),
                )
            )
    return sorted(found, key=lambda s: s.full_name)


def load(path: Path) -> list[TranscodedService]:
    """The transcoded services of the descriptor set at `path`."""
    files = descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes()).file
    services = transcoded_services(files)
    if not services:
        raise ValueError(f"{path}: no service with a google.api.http rule")
    return services
