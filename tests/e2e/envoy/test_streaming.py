"""Server streaming through Envoy: the stream route has no response timeout, and a
client that goes away cancels the call on the service."""

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
