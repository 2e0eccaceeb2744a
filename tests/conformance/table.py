"""The conformance row type, shared by the Python gateway run and (later) a live Envoy run.

A row is one HTTP request and everything observable about it: the gRPC request the
backend receives (as a proto-name dict), what the backend answers (a `Script`), and
the HTTP status, headers and JSON the client gets. `envoy` records how Envoy's
grpc_json_transcoder is documented to behave for the same row (reference §3.3): `SAME`,
or `differs(...)` with the note and, where known, the status Envoy answers. Rows whose
`rule` names a grpc-gateway rule come from reference §1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.gateway_protos.backends import Script

ANY: Any = object()  # "do not check"
NO_BODY: Any = object()


@dataclass(frozen=True)
class Envoy:
    same: bool = True
    note: str = ""
    status: int | None = None


SAME = Envoy()


def differs(note: str, status: int | None = None) -> Envoy:
    return Envoy(same=False, note=note, status=status)


@dataclass(frozen=True)
class Row:
    rule: str
    method: str
    url: str
    json: Any = NO_BODY
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # The backend method expected to be called (None: the gateway answers alone).
    rpc: str | None = None
    # The request the backend must receive, as MessageToDict(preserving_proto_field_name).
    request: Any = ANY
    script: Script = field(default_factory=Script)
    status: int = 200
    body: Any = ANY
    response_headers: Mapping[str, str | None] = field(default_factory=dict)
    metadata: Mapping[str, str | bytes | None] = field(default_factory=dict)
    ndjson: list[Any] | None = None
    raw: bytes | None = None
    envoy: Envoy = SAME
