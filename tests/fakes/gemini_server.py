"""A fake of the Gemini Developer API (`generateContent`, `streamGenerateContent`).

Response shapes follow /work/shared/reference/llm.md §2 (verified against google-genai).
A 200 JSON reply scripted for a streaming request is sent as one SSE event, because
each streamed event has exactly the shape of a whole response.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tests.fakes.scripted_http import (
    JsonReply,
    Recorded,
    Reply,
    ScriptedHttpServer,
    SseReply,
    StallReply,
)

__all__ = [
    "Call",
    "GeminiFake",
    "JsonReply",
    "SseReply",
    "StallReply",
    "calls_turn",
    "error",
    "error_event",
    "stream",
    "text_turn",
    "usage",
]

_PATH = re.compile(r"^/(?P<version>[^/]+)/models/(?P<model>[^/:]+):(?P<method>\w+)$")


@dataclass(frozen=True)
class Call:
    """A functionCall part the fake model emits."""

    name: str
    args: Mapping[str, Any]
    id: str | None = None
    signature: str | None = None  # base64 thoughtSignature


def usage(prompt: int = 40, candidates: int = 8, thoughts: int = 0) -> dict[str, int]:
    meta = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts,
    }
    if thoughts:
        meta["thoughtsTokenCount"] = thoughts
    return meta


def _response(parts: list[dict[str, Any]], meta: Mapping[str, int] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
        ],
        "modelVersion": "gemini-fake",
        "responseId": "resp-fake",
    }
    if meta is not None:
        body["usageMetadata"] = dict(meta)
    return body


def _call_part(call: Call) -> dict[str, Any]:
    function_call: dict[str, Any] = {"name": call.name, "args": dict(call.args)}
    if call.id is not None:
        function_call["id"] = call.id
    part: dict[str, Any] = {"functionCall": function_call}
    if call.signature is not None:
        part["thoughtSignature"] = call.signature
    return part


def text_turn(
    text: str, *, signature: str | None = None, meta: Mapping[str, int] | None = None
) -> dict[str, Any]:
    part: dict[str, Any] = {"text": text}
    if signature is not None:
        part["thoughtSignature"] = signature
    return _response([part], meta if meta is not None else usage())


def calls_turn(
    *calls: Call, text: str | None = None, meta: Mapping[str, int] | None = None
) -> dict[str, Any]:
    parts = ([{"text": text}] if text else []) + [_call_part(c) for c in calls]
    return _response(parts, meta if meta is not None else usage())


def stream(*events: Mapping[str, Any], drop_at_end: bool = False) -> SseReply:
    return SseReply([dict(e) for e in events], drop_at_end=drop_at_end)


def text_chunk(text: str, meta: Mapping[str, int] | None = None) -> dict[str, Any]:
    return _response([{"text": text}], meta)


def error(
    code: int,
    status: str,
    message: str,
    *,
    details: Sequence[Mapping[str, Any]] = (),
    headers: Mapping[str, str] | None = None,
) -> JsonReply:
    inner: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        inner["details"] = [dict(d) for d in details]
    return JsonReply({"error": inner}, status=code, headers=dict(headers or {}))


def error_event(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


def _as_stream(request: Recorded, reply: Reply) -> Reply:
    streaming = request.path.endswith(":streamGenerateContent")
    if streaming and isinstance(reply, JsonReply) and reply.status == 200:
        return SseReply([reply.body])
    return reply


class GeminiFake(ScriptedHttpServer):
    """Scripted Gemini; `requests` holds every call the SDK made."""

    def __init__(self) -> None:
        super().__init__(adapt=_as_stream)

    def reply(self, *replies: Reply | Mapping[str, Any]) -> None:
        """Queues replies; a plain dict is a 200 JSON response body."""
        self.script(*(r if isinstance(r, Reply) else JsonReply(dict(r)) for r in replies))

    @staticmethod
    def route(request: Recorded) -> dict[str, str]:
        """`version`, `model` and `method` of a recorded request path."""
        match = _PATH.match(request.path)
        assert match, f"not a Gemini model path: {request.path}"
        return match.groupdict()
