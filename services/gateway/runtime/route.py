"""The typed route table the routes plugin generates and the mux loads.

Generated `*_routes.py` modules hold only these frozen values: the path template is
already compiled (literals decoded, variables flattened to segment spans), so the
runtime never parses a template.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import Message

WILDCARD = "*"
DEEP_WILDCARD = "**"


@dataclass(frozen=True, slots=True)
class PathVariable:
    """`{field.path=...}`: binds template segments [start, end) to a request field."""

    field_path: tuple[str, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class PathTemplate:
    """A compiled template: literal segments, `*`, a trailing `**`, and an optional verb."""

    source: str
    segments: tuple[str, ...]
    verb: str = ""
    variables: tuple[PathVariable, ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    """One google.api.http binding of one RPC."""

    service: str
    method: str
    http_method: str
    template: PathTemplate
    request_type: type[Message]
    response_type: type[Message]
    body: str = ""
    response_body: str = ""
    client_streaming: bool = False
    server_streaming: bool = False
    binding_index: int = 0
    grpc_path: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "grpc_path", f"/{self.service}/{self.method}")
