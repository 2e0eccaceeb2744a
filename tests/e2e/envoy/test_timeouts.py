"""Timeouts through Envoy: unary calls carry a deadline to the service (the client's
Grpc-Timeout, else the route's), the stream route has none, and a client that goes
away cancels the call on the service."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.gateway.envoy import render
from tests.envoy_harness import RunningEnvoy, start_envoy
from tests.gateway_protos.backends import Backends, Recorder, Script
from tests.gateway_protos.build import probe_modules

UNARY_TIMEOUT_SECONDS = 1.0


@pytest.fixture(scope="module")
async def short_timeout_envoy(
    envoy_backends: Backends, probe_descriptor_set: Path
) -> AsyncIterator[RunningEnvoy]:
    port = int(envoy_backends.target.rsplit(":", 1)[1])
    config = render(
        {"tasks": port, "chat": port, "gwtest": port},
        0,
        0,
        descriptor_file=probe_descriptor_set,
        strict=False,
        unary_timeout_seconds=UNARY_TIMEOUT_SECONDS,
    )
    async with start_envoy(config) as envoy:
        yield envoy


async def test_a_stream_outlives_the_unary_timeout_and_a_disconnect_cancels_it(
    short_timeout_envoy: RunningEnvoy, envoy_recorder: Recorder
) -> None:
    pb, _, _ = probe_modules()
    envoy_recorder.script = Script(stream=(pb.Probe(name="first"),), hang_after_stream=True)

    async with (
        httpx.AsyncClient(base_url=short_timeout_envoy.base_url, timeout=10) as client,
        client.stream("POST", "/v1/probes/s:watch", json={}) as response,
    ):
        assert response.status_code == 200
        lines = response.aiter_lines()
        first = json.loads(await anext(lines))
        assert first["name"] == "first"
        # Three unary timeouts later the stream is still open: no event, no end.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(lines), 3 * UNARY_TIMEOUT_SECONDS)
        assert not envoy_recorder.cancelled.is_set()

    # The client closed its connection: Envoy resets the upstream stream.
    started = time.monotonic()
    await asyncio.wait_for(envoy_recorder.cancelled.wait(), 10)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("headers", "deadline"),
    [
        pytest.param({}, UNARY_TIMEOUT_SECONDS, id="route-default"),
        pytest.param({"grpc-timeout": "300m"}, 0.3, id="client-grpc-timeout"),
    ],
)
async def test_unary_calls_reach_the_service_with_a_deadline(
    short_timeout_envoy: RunningEnvoy,
    envoy_recorder: Recorder,
    headers: dict[str, str],
    deadline: float,
) -> None:
    async with httpx.AsyncClient(base_url=short_timeout_envoy.base_url, timeout=10) as client:
        response = await client.get("/v1/probes/abc", headers=headers)

    assert response.status_code == 200
    [call] = envoy_recorder.calls
    assert call.time_remaining is not None
    assert deadline - 0.25 < call.time_remaining <= deadline
