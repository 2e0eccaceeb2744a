"""The conformance table against the Python gateway (reference §1, one row per rule).

Each row: an HTTP request through the gateway (ASGI, in process) to recording
servicers on a real grpc.aio server; asserts the gRPC request the servicer received
and the HTTP status, headers and JSON the client got. The rows also carry Envoy's
documented behaviour (`row.envoy`) for a later run against a live Envoy.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from google.protobuf import json_format

from tests.conformance import rows_query, rows_request, rows_response, rows_routing, rows_streams
from tests.conformance.table import ANY, NO_BODY, Row
from tests.gateway_protos.backends import Recorder

ROWS = [
    *rows_routing.ROWS,
    *rows_request.ROWS,
    *rows_query.ROWS,
    *rows_response.ROWS,
    *rows_streams.ROWS,
]


def _as_dict(request: Any) -> Any:
    if isinstance(request, list):
        return [_as_dict(r) for r in request]
    return json_format.MessageToDict(request, preserving_proto_field_name=True)


def test_the_table_covers_the_reference() -> None:
    ids = [p.id for p in ROWS]
    assert len(ids) >= 60
    assert len(set(ids)) == len(ids)
    sections = {p.values[0].rule.split()[0] for p in ROWS}
    assert sections >= {"1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "1.10"}


@pytest.mark.parametrize("row", ROWS)
async def test_gateway(row: Row, client: httpx.AsyncClient, recorder: Recorder) -> None:
    recorder.script = row.script
    kwargs: dict[str, Any] = {"headers": dict(row.headers)}
    if row.json is not NO_BODY:
        kwargs["json"] = row.json
    elif row.content is not None:
        kwargs["content"] = row.content
    response = await client.request(row.method, row.url, **kwargs)

    assert response.status_code == row.status, response.text
    if row.raw is not None:
        assert response.content == row.raw
    elif row.ndjson is not None:
        assert [json.loads(line) for line in response.text.splitlines()] == row.ndjson
    elif row.body is not ANY:
        assert response.json() == row.body
    for name, value in row.response_headers.items():
        assert response.headers.get(name) == value, name
    if row.rpc is None:
        assert recorder.calls == []
        return
    assert [c.method for c in recorder.calls] == [row.rpc]
    call = recorder.calls[0]
    if row.request is not ANY:
        assert _as_dict(call.request) == row.request
    for key, value in row.metadata.items():
        assert call.metadata.get(key) == value, key
