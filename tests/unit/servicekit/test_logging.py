"""Log lines are JSON with the request id, and secrets are masked even if logged by mistake."""

from __future__ import annotations

import json
import logging

import pytest

from services.servicekit.logging import JsonFormatter, bind_request_id, redact

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl"


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        pytest.param(f"authorization: Bearer {JWT}", JWT, id="bearer-header"),
        pytest.param(f"token={JWT}", JWT, id="bare-jwt"),
        pytest.param("Bearer abc.def-ghi", "abc.def-ghi", id="opaque-bearer"),
        pytest.param('{"api_key": "sk-123456"}', "sk-123456", id="api-key-json"),
        pytest.param("GEMINI_API_KEY=AIzaSyXXXX", "AIzaSyXXXX", id="api-key-env"),
        pytest.param("BEARER opaque-token-1", "opaque-token-1", id="bearer-upper-case"),
        pytest.param("Password: hunter2", "hunter2", id="password-capitalised"),
        pytest.param("x-Api-Key=k-987", "k-987", id="api-key-mixed-case"),
        pytest.param("SECRET='s3cr3t'", "s3cr3t", id="secret-upper-case"),
    ],
)
def test_redact_masks_secrets(text: str, leaked: str) -> None:
    assert leaked not in redact(text)
    assert "[REDACTED]" in redact(text)


def test_json_line_carries_request_id_and_extras() -> None:
    bind_request_id("req-42")
    try:
        record = logging.makeLogRecord(
            {
                "name": "t",
                "levelname": "INFO",
                "msg": "call %s",
                "args": (f"Bearer {JWT}",),
                "rpc_method": "/x/Y",
            }
        )
        line = json.loads(JsonFormatter().format(record))
    finally:
        bind_request_id(None)
    assert line["request_id"] == "req-42"
    assert line["rpc_method"] == "/x/Y"
    assert JWT not in line["msg"]


def test_text_without_secrets_is_returned_unchanged() -> None:
    text = "rpc finished in 1.2 ms: /todochat.tasks.v1.TaskService/GetTask OK"
    assert redact(text) == text


def test_timestamps_stay_exact_across_seconds_with_one_formatter() -> None:
    formatter = JsonFormatter()
    stamps = []
    for created in (1_700_000_000.125, 1_700_000_000.875, 1_700_000_001.5, 1_700_000_000.25):
        record = logging.makeLogRecord({"name": "t", "levelname": "INFO", "msg": "m"})
        record.created, record.msecs = created, (created - int(created)) * 1000
        stamps.append(json.loads(formatter.format(record))["ts"])
    assert stamps == [
        "2023-11-14T22:13:20.125Z",
        "2023-11-14T22:13:20.875Z",
        "2023-11-14T22:13:21.500Z",
        "2023-11-14T22:13:20.250Z",
    ]


def test_json_line_carries_the_trace_id_inside_a_span() -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from services.servicekit.tracing import Tracing

    tracing = Tracing.with_exporter("t", InMemorySpanExporter())
    with tracing.server_span("/x/Y", None) as span:
        line = json.loads(JsonFormatter().format(logging.makeLogRecord({"msg": "inside"})))
    outside = json.loads(JsonFormatter().format(logging.makeLogRecord({"msg": "outside"})))
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert "trace_id" not in outside
