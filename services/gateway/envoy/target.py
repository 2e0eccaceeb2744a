"""The deployment target type and the small builders every part of the bootstrap uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Node = dict[str, Any]

_T = "type.googleapis.com/envoy.extensions."
LUA_FILTER = "envoy.filters.http.lua"
BUFFER_FILTER = "envoy.filters.http.buffer"


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int


@dataclass(frozen=True)
class HealthChecking:
    interval_seconds: float
    timeout_seconds: float
    unhealthy_threshold: int
    healthy_threshold: int


@dataclass(frozen=True)
class Target:
    """Everything that differs between a laptop or test run and a cluster."""

    listen: Endpoint
    admin: Endpoint
    # Where Envoy reads the descriptor set (a ConfigMap mount); None puts it inline.
    descriptor_path: str | None
    # Cluster name (from the package, see descriptor.py) -> where its pods answer: one
    # name that resolves to every pod, or several fixed addresses (a local fleet).
    upstreams: Mapping[str, tuple[Endpoint, ...]]
    cors_origins: tuple[str, ...]
    health: HealthChecking
    unary_timeout_seconds: float = 60.0
    max_request_bytes: int = 1024 * 1024
    max_connections: int = 10000
    access_log: bool = True


def seconds(value: float) -> str:
    return f"{value:g}s"


def typed(kind: str, **fields: Any) -> Node:
    return {"@type": _T + kind, **fields}
