"""Everything the gateway runtime can be told, in one typed object with defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import grpc


@dataclass(frozen=True)
class Backend:
    """One gRPC channel and the services reached through it (health is checked per service)."""

    target: str
    channel: grpc.aio.Channel
    services: tuple[str, ...]


@dataclass(frozen=True)
class GatewayOptions:
    """Runtime behaviour; the defaults are grpc-gateway's plus the choices of reference §6."""

    max_body_bytes: int = 1024 * 1024
    default_timeout_seconds: float = 60.0
    cors_origins: tuple[str, ...] = ()
    # Envoy-like strictness, off by default as in grpc-gateway.
    reject_unknown_fields: bool = False
    reject_unknown_query_parameters: bool = False
    # grpc-gateway's POST + x-www-form-urlencoded -> GET fallback (on by default there).
    path_length_fallback: bool = True
    name: str = "todochat"
    version: str = "0.0.0"
    openapi_path: Path | None = None
    health_timeout_seconds: float = 2.0
    cors_max_age_seconds: int = 600
    cors_allow_headers: tuple[str, ...] = field(
        default=("Authorization", "Content-Type", "X-Request-Id", "Grpc-Timeout")
    )
