"""A fake of the OpenAI chat completions API (`POST /v1/chat/completions`), plain and streamed.

Shapes follow /work/shared/reference/llm.md §3 (verified against the openai SDK): a
streamed reply sends tool calls as fragments keyed by `index`, then a chunk with the
finish reason, then a usage-only chunk with empty `choices`, then `[DONE]`.
"""

from __future__ import annotations

import json
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
    "JsonReply",
    "OpenAIFake",
    "SseReply",
    "StallReply",
    "ToolCall",
    "completion",
    "error",
    "error_event",
    "stream",
    "usage",
]

COMPLETIONS_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: Mapping[str, Any] | str  # a str is sent as it is (e.g. broken JSON)

    @property
    def arguments_json(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


def usage(prompt: int = 50, completion_tokens: int = 9) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
    }


def completion(
    content: str | None = None,
    *tool_calls: ToolCall,
    meta: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments_json},
            }
            for c in tool_calls
        ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_760_000_000,
        "model": "gpt-fake",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
        ],
        "usage": dict(meta) if meta is not None else usage(),
    }


def _chunk(delta: Mapping[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1_760_000_000,
        "model": "gpt-fake",
        "choices": [{"index": 0, "delta": dict(delta), "finish_reason": finish}],
    }


def stream(
    text_deltas: Sequence[str] = (),
    tool_calls: Sequence[ToolCall] = (),
    *,
    fragments: int = 3,
    meta: Mapping[str, int] | None = None,
    error: Mapping[str, Any] | None = None,
    drop_at_end: bool = False,
) -> SseReply:
    """Chunks as the API streams them; `error` replaces the ending with an error event."""
    events: list[Any] = [_chunk({"role": "assistant", "content": ""})]
    events += [_chunk({"content": d}) for d in text_deltas]
    for index, call in enumerate(tool_calls):
        args = call.arguments_json
        size = max(1, -(-len(args) // fragments))
        pieces = [args[i : i + size] for i in range(0, len(args), size)] or [""]
        first = {
            "index": index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": pieces[0]},
        }
        events.append(_chunk({"tool_calls": [first]}))
        events += [
            _chunk({"tool_calls": [{"index": index, "function": {"arguments": p}}]})
            for p in pieces[1:]
        ]
    if error is not None:
        events.append(dict(error))
        return SseReply(events, drop_at_end=True)
    if drop_at_end:
        return SseReply(events, drop_at_end=True)
    events.append(_chunk({}, "tool_calls" if tool_calls else "stop"))
    final = _chunk({})
    final["choices"] = []
    final["usage"] = dict(meta) if meta is not None else usage()
    events += [final, "[DONE]"]
    return SseReply(events)


def error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JsonReply:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return JsonReply(body, status=status, headers=dict(headers or {}))


def error_event(
    message: str, *, type_: str = "server_error", code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


class OpenAIFake(ScriptedHttpServer):
    """Scripted OpenAI-compatible server; the SDK's base_url is `base_url`."""

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def reply(self, *replies: Reply | Mapping[str, Any]) -> None:
        """Queues replies; a plain dict is a 200 JSON response body."""
        self.script(*(r if isinstance(r, Reply) else JsonReply(dict(r)) for r in replies))

    def completion_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == COMPLETIONS_PATH]
