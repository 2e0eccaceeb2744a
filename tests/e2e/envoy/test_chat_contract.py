"""The frontend's ChatService contract (design.md) through Envoy, with the offline TodoBot."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

CHAT_KEYS = {
    "conversation_id",
    "message_id",
    "role",
    "content",
    "created_at",
    "tool_calls",
    "request_id",
}
EVENT_KINDS = {"tool_call", "tool_result", "text_delta", "done"}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/api/chat", id="primary-binding"),
        pytest.param("/api/{user}/chat", id="additional-binding"),
    ],
)
async def test_chat_turn_adds_a_task(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str], path: str
) -> None:
    response = await client.post(
        path.format(user=user_id), json={"content": "add buy milk"}, headers=headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == CHAT_KEYS
    assert body["role"] == "assistant" and body["content"]
    assert body["request_id"], "the idempotency key the server chose, for a retry"
    uuid.UUID(body["conversation_id"])
    [call] = body["tool_calls"]
    assert (call["name"], call["ok"]) == ("add_task", True)
    assert set(call) == {"name", "arguments", "result", "ok"}
    tasks = await client.get(f"/api/{user_id}/tasks", headers=headers)
    assert [t["id"] for t in tasks.json()] == [call["result"]["id"]]


async def test_stream_is_newline_delimited_events_without_an_envelope(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str]
) -> None:
    async with client.stream(
        "POST", "/api/chat:stream", json={"content": "add water plants"}, headers=headers
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        lines = [line async for line in response.aiter_lines() if line]

    events: list[dict[str, Any]] = [json.loads(line) for line in lines]
    # grpc-gateway writes {"result": {...}} per line; Envoy writes the message itself.
    assert all(len(e) == 1 and set(e) <= EVENT_KINDS for e in events), events
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "tool_call" and kinds[-1] == "done"
    assert "tool_result" in kinds and "text_delta" in kinds
    done = events[-1]["done"]
    assert set(done) == CHAT_KEYS
    assert "".join(e["text_delta"]["text"] for e in events if "text_delta" in e) == done["content"]


async def test_stream_error_before_the_first_event_is_a_mapped_status(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post("/api/chat:stream", json={"content": ""}, headers=headers)

    # grpc-gateway: the same status with {"error": {...}}; Envoy: the bare Status.
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 3 and "error" not in body


async def test_conversations_list_get_messages_and_delete(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str]
) -> None:
    first = await client.post("/api/chat", json={"content": "hello"}, headers=headers)
    conversation_id = first.json()["conversation_id"]
    await client.post(
        "/api/chat",
        json={"content": "add call mum", "conversation_id": conversation_id},
        headers=headers,
    )
    newest = await client.post("/api/chat", json={"content": "second"}, headers=headers)

    listed = await client.get("/api/conversations", headers=headers)
    assert listed.status_code == 200
    conversations = listed.json()
    assert [c["id"] for c in conversations] == [
        newest.json()["conversation_id"],
        conversation_id,
    ], "a bare array, newest first"
    assert set(conversations[1]) == {
        "id",
        "title",
        "last_message",
        "created_at",
        "updated_at",
        "message_count",
    }
    assert conversations[1]["message_count"] == 4

    paged = await client.get("/api/conversations?limit=1&offset=1", headers=headers)
    assert [c["id"] for c in paged.json()] == [conversation_id]

    got = await client.get(f"/api/conversations/{conversation_id}", headers=headers)
    assert got.status_code == 200
    detail = got.json()
    assert detail["id"] == conversation_id
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant"] * 2

    messages = await client.get(f"/api/conversations/{conversation_id}/messages", headers=headers)
    assert [m["content"] for m in messages.json()][:1] == ["hello"], "a bare array, oldest first"
    assert set(messages.json()[0]) == {
        "id",
        "conversation_id",
        "role",
        "content",
        "tool_calls",
        "created_at",
    }

    deleted = await client.delete(f"/api/conversations/{conversation_id}", headers=headers)
    assert deleted.status_code == 200 and deleted.json() == {}
    gone = await client.get(f"/api/conversations/{conversation_id}", headers=headers)
    assert gone.status_code == 404 and gone.json()["code"] == 5


async def test_an_empty_conversation_list_is_an_empty_array(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/api/conversations", headers=headers)

    assert response.status_code == 200
    assert response.json() == []
