"""The per-user turn limit is counted in the database, so it holds across replicas."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import grpc
import pytest
from todochat.chat.v1 import chat_service_pb2 as pb

from tests.integration.chat.conftest import ChatEnv, error_details


async def _start_of_a_fresh_minute() -> None:
    # The limit is per calendar minute; keep the burst inside one.
    second = datetime.now(UTC).second
    if second > 45:
        await asyncio.sleep(61 - second)


async def test_the_eleventh_turn_in_a_minute_is_resource_exhausted_on_any_replica(
    chat_env: ChatEnv, user_id: str
) -> None:
    a = await chat_env.start_chat(rate_limit_per_minute=10)
    b = await chat_env.start_chat(rate_limit_per_minute=10)
    md = chat_env.md(user_id)
    await _start_of_a_fresh_minute()
    first = await a.chat("turn 0", md, request_id="r0")
    for i in range(1, 10):
        await (a if i % 2 else b).chat(f"turn {i}", md, conversation_id=first.conversation_id)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await b.chat("turn 10", md, conversation_id=first.conversation_id)
    error = caught.value
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    details = error_details(error)
    assert details.reasons == ["CHAT_RATE_LIMITED"]
    assert details.retry_seconds is not None and 1 <= details.retry_seconds <= 60

    got = await a.stub.GetConversation(
        pb.GetConversationRequest(conversation_id=first.conversation_id), metadata=md
    )
    assert got.message_count == 20, "a refused turn stores nothing"
    assert len(a.provider.sessions) + len(b.provider.sessions) == 10

    replay = await b.chat("turn 0", md, request_id="r0")
    assert replay == first, "replaying a finished turn is not a new turn"
    other = await a.chat("hello", chat_env.md(user_id + "-other"))
    assert other.content == "echo: hello", "the limit is per user"
