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
