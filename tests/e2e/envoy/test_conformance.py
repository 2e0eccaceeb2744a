"""The gateway's conformance table (tests/conformance/) run against a live Envoy.

The same recording servicers answer (TaskService, ChatService and the test
ProbeService on one gRPC server); Envoy runs the config `render` makes for a descriptor
set of our protos plus probe.proto (strict=False: probe.proto has rules Envoy cannot
answer like grpc-gateway, which rows 1.9-* show). Each row is asserted as the gateway's
expectation, with the parts in `OBSERVED` replaced by what Envoy does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import json_format

from services.gateway.envoy import render
from tests.conformance.table import ANY, NO_BODY, Row
from tests.conformance.test_conformance import ROWS
from tests.e2e.envoy.conformance_observed import KEEP, OBSERVED, SAME_WITH_OUR_CONFIG, Observed
from tests.envoy_harness import RunningEnvoy, start_envoy
from tests.gateway_protos.backends import Backends, Recorder

ROW_IDS = [str(p.id) for p in ROWS]


@pytest.fixture(scope="module")
async def conformance_envoy(
    envoy_backends: Backends, probe_descriptor_set: Path
) -> AsyncIterator[RunningEnvoy]:
    port = int(envoy_backends.target.rsplit(":", 1)[1])
    config = render(
        {"tasks": port, "chat": port, "gwtest": port},
        0,
        0,
        descriptor_file=probe_descriptor_set,
        strict=False,
    )
    async with start_envoy(config) as envoy:
        yield envoy


def _as_dict(request: Any) -> Any:
    if isinstance(request, list):
        return [_as_dict(r) for r in request]
    return json_format.MessageToDict(request, preserving_proto_field_name=True)


def _pick(observed: Any, row_value: Any) -> Any:
    if observed is KEEP:
        return row_value
    if callable(observed) and not isinstance(observed, type):
        return observed(row_value)
    return observed


def test_every_documented_difference_was_checked_live() -> None:
    differing = {str(p.id) for p in ROWS if not p.values[0].envoy.same}
    unchecked = differing - set(OBSERVED) - set(SAME_WITH_OUR_CONFIG)
    assert not unchecked, f"rows that say Envoy differs, not run live: {sorted(unchecked)}"
    stale = (set(OBSERVED) | set(SAME_WITH_OUR_CONFIG)) - set(ROW_IDS)
    assert not stale, f"observations for rows that no longer exist: {sorted(stale)}"
    assert not set(OBSERVED) & set(SAME_WITH_OUR_CONFIG)


@pytest.mark.parametrize("row", ROWS)
async def test_envoy(
    row: Row,
    request: pytest.FixtureRequest,
    conformance_envoy: RunningEnvoy,
    envoy_recorder: Recorder,
) -> None:
    row_id = request.node.callspec.id
    seen = OBSERVED.get(row_id, Observed(note="as grpc-gateway"))
    envoy_recorder.script = row.script
    kwargs: dict[str, Any] = {"headers": dict(row.headers)}
    if row.json is not NO_BODY:
        kwargs["json"] = row.json
    elif row.content is not None:
        kwargs["content"] = row.content
    async with httpx.AsyncClient(base_url=conformance_envoy.base_url, timeout=10) as client:
        response = await client.request(row.method, row.url, **kwargs)

    context = f"{row_id} ({seen.note}): {response.status_code} {response.text[:500]}"
    assert response.status_code == (seen.status or row.status), context
    ndjson = _pick(seen.ndjson, row.ndjson)
    body = _pick(seen.body, row.body)
    if seen.raw is not None or (row.raw is not None and seen.body is KEEP):
        assert response.content == (seen.raw if seen.raw is not None else row.raw), context
    elif ndjson is not None:
        lines = [json.loads(line) for line in response.text.splitlines() if line]
        assert lines == ndjson, context
    elif body is not ANY:
        assert response.json() == body, context
    headers = {**row.response_headers, **(seen.response_headers or {})}
    for name, value in headers.items():
        assert response.headers.get(name) == value, f"{context}: header {name}"

    rpc = _pick(seen.rpc, row.rpc)
    if rpc is None:
        assert envoy_recorder.calls == [], context
        return
    assert [c.method for c in envoy_recorder.calls] == [rpc], context
    call = envoy_recorder.calls[0]
    expected_request = _pick(seen.request, row.request)
    if expected_request is not ANY:
        assert _as_dict(call.request) == expected_request, context
    metadata = seen.metadata if seen.metadata is not None else row.metadata
    for key, value in metadata.items():
        assert value == call.metadata.get(key), f"{context}: metadata {key}"
