"""Server streaming over a real uvicorn: NDJSON and SSE framing, errors, disconnects."""

from __future__ import annotations

import asyncio
import json

import grpc
import httpx

from tests.gateway_protos.backends import Recorder, Script, status
from tests.gateway_protos.build import probe_modules


def _probe(name: str) -> object:
    pb, _, _ = probe_modules()
    return pb.Probe(name=name)


async def test_ndjson_is_flushed_per_message(served: str, recorder: Recorder) -> None:
    recorder.script = Script(stream=(_probe("first"),), hang_after_stream=True)
    async with (
        httpx.AsyncClient(base_url=served, timeout=5) as http,
        http.stream("POST", "/v1/probes/s:watch", json={}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        lines = response.aiter_lines()
        # The backend is still running: the first line must arrive on its own.
        first = json.loads(await asyncio.wait_for(anext(lines), 5))
    assert first["result"]["name"] == "first"


async def test_ndjson_content_type_on_request(served: str, recorder: Recorder) -> None:
    recorder.script = Script(stream=(_probe("a"), _probe("b")))
    async with httpx.AsyncClient(base_url=served, timeout=5) as http:
        response = await http.post(
            "/v1/probes/s:watch", json={}, headers={"accept": "application/x-ndjson"}
        )
    assert response.headers["content-type"] == "application/x-ndjson"
    names = [json.loads(line)["result"]["name"] for line in response.text.splitlines()]
    assert names == ["a", "b"]
    assert response.text.endswith("}\n")


async def test_sse_framing(served: str, recorder: Recorder) -> None:
    recorder.script = Script(
        stream=(_probe("a"),), error=status(grpc.StatusCode.UNAVAILABLE, "model down")
    )
    async with httpx.AsyncClient(base_url=served, timeout=5) as http:
        response = await http.get("/v1/watch/s", headers={"accept": "text/event-stream"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    assert response.text == (
        "event: result\ndata: null\n\n"
        'event: error\ndata: {"code":14,"message":"model down","details":[]}\n\n'
    )


async def test_sse_error_before_the_first_event_has_the_mapped_status(
    served: str, recorder: Recorder
) -> None:
    recorder.script = Script(error=status(grpc.StatusCode.RESOURCE_EXHAUSTED, "quota"))
    async with httpx.AsyncClient(base_url=served, timeout=5) as http:
        response = await http.post(
            "/v1/probes/s:watch", json={}, headers={"accept": "text/event-stream"}
        )
    assert response.status_code == 429
    assert response.text == ('event: error\ndata: {"code":8,"message":"quota","details":[]}\n\n')


async def test_ndjson_error_before_and_after_data(served: str, recorder: Recorder) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=5) as http:
        recorder.script = Script(error=status(grpc.StatusCode.NOT_FOUND, "none"))
        before = await http.post("/v1/probes/s:watch", json={})
        recorder.script = Script(
            stream=(_probe("x"),), error=status(grpc.StatusCode.INTERNAL, "broke")
        )
        after = await http.post("/v1/probes/s:watch", json={})
    assert before.status_code == 404
    assert before.text == '{"error":{"code":5,"message":"none","details":[]}}\n'
    assert after.status_code == 200
    last = json.loads(after.text.splitlines()[-1])
    assert last == {"error": {"code": 13, "message": "broke", "details": []}}


async def test_client_disconnect_cancels_the_backend_call(served: str, recorder: Recorder) -> None:
    recorder.script = Script(stream=(_probe("first"),), hang_after_stream=True)
    async with (
        httpx.AsyncClient(base_url=served, timeout=5) as http,
        http.stream("POST", "/v1/probes/s:watch", json={}) as response,
    ):
        await anext(response.aiter_lines())
    # Leaving the block closes the connection mid-stream.
    await asyncio.wait_for(recorder.cancelled.wait(), 5)
    assert recorder.cancelled.is_set()
