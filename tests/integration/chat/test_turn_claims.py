"""Who may run a turn: a live attempt keeps it, a dead one loses it within the lease.

A process killed mid-turn (SIGKILL, OOM) cannot mark its turn failed; the record stays
`running`. The attempt renews its claim while it runs, so a retry can tell a dead
attempt (claim lapsed: take the turn over) from a live one (ABORTED, retry shortly).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import grpc
import pytest
from sqlalchemy.engine import make_url
from todochat.chat.v1 import chat_service_pb2 as pb

from services.chat.llm import failures
from services.chat.llm.base import ModelStep
from services.chat.usecases.deps import TurnLimits
from tests.integration.chat.conftest import ChatEnv, RunningChat, error_details
from tests.integration.chat.scripted import ScriptedProvider, ScriptedSession, say, task_bot

LEASE = TurnLimits().claim_lease_seconds


async def _sql(database_url: str, query: str, *args: object) -> list[asyncpg.Record]:
    dsn = make_url(database_url).set(drivername="postgresql")
    connection = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


async def _turn(env: ChatEnv, user_id: str, request_id: str) -> asyncpg.Record:
    [row] = await _sql(
        env.database_url,
        "SELECT status, attempts, updated_at FROM chat_turns WHERE user_id = $1 "
        "AND request_id = $2",
        user_id,
        request_id,
    )
    return row


async def _messages(chat: RunningChat, env: ChatEnv, user_id: str) -> list[tuple[str, str]]:
    md = env.md(user_id)
    [conversation] = (
        await chat.stub.ListConversations(pb.ListConversationsRequest(), metadata=md)
    ).conversations
    listed = await chat.stub.ListMessages(
        pb.ListMessagesRequest(conversation_id=conversation.id), metadata=md
    )
    return [(m.role, m.content) for m in listed.messages]


class FailsFirst:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, session: ScriptedSession) -> ModelStep:
        self.calls += 1
        if self.calls == 1:
            raise failures.unavailable("scripted")
        return say("done")


@pytest.mark.parametrize(
    ("renewed_ago", "taken_over"),
    [
        pytest.param(LEASE + 1, True, id="claim-lapsed-process-died"),
        pytest.param(0.0, False, id="claim-fresh-attempt-alive"),
    ],
)
async def test_a_running_turn_is_taken_over_only_once_its_claim_lapsed(
    chat_env: ChatEnv, user_id: str, renewed_ago: float, taken_over: bool
) -> None:
    chat = await chat_env.start_chat(ScriptedProvider(FailsFirst()))
    md = chat_env.md(user_id)
    with pytest.raises(grpc.aio.AioRpcError):
        await chat.chat("hello", md, request_id="turn-1")
    # What a process killed mid-turn leaves: `running`, last renewed `renewed_ago` s ago.
    await _sql(
        chat_env.database_url,
        "UPDATE chat_turns SET status = 'running', updated_at = $3 "
        "WHERE user_id = $1 AND request_id = $2",
        user_id,
        "turn-1",
        datetime.now(UTC) - timedelta(seconds=renewed_ago),
    )

    if taken_over:
        answer = await chat.chat("hello", md, request_id="turn-1")
        assert answer.content == "done"
        assert await _messages(chat, chat_env, user_id) == [
            ("user", "hello"),
            ("assistant", "done"),
        ], "the user's message once, and one answer"
        assert (await _turn(chat_env, user_id, "turn-1"))["status"] == "done"
    else:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await chat.chat("hello", md, request_id="turn-1")
        assert caught.value.code() is grpc.StatusCode.ABORTED
        assert error_details(caught.value).reasons == ["TURN_IN_PROGRESS"]


async def test_a_live_attempt_renews_its_claim_and_keeps_the_turn(
    chat_env: ChatEnv, user_id: str
) -> None:
    release = asyncio.Event()

    async def slow(session: ScriptedSession) -> ModelStep:
        if session.step == 0:
            await release.wait()
        return task_bot(session)

    chat = await chat_env.start_chat(ScriptedProvider(slow))
    md = chat_env.md(user_id)
    first = asyncio.create_task(chat.chat("hello", md, request_id="turn-1"))
    await asyncio.sleep(0.5)
    claimed_at = (await _turn(chat_env, user_id, "turn-1"))["updated_at"]
    await asyncio.sleep(LEASE / 4 + 1)

    assert (await _turn(chat_env, user_id, "turn-1"))["updated_at"] > claimed_at, "renewed"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await chat.chat("hello", md, request_id="turn-1")
    assert caught.value.code() is grpc.StatusCode.ABORTED
    release.set()
    assert (await first).content == "echo: hello"
    assert len(chat.provider.sessions) == 1, "the model ran once"


async def test_an_attempt_that_lost_its_claim_stores_nothing(
    chat_env: ChatEnv, user_id: str
) -> None:
    release = asyncio.Event()

    async def slow(session: ScriptedSession) -> ModelStep:
        await release.wait()
        return say("late answer")

    chat = await chat_env.start_chat(ScriptedProvider(slow))
    md = chat_env.md(user_id)
    first = asyncio.create_task(chat.chat("hello", md, request_id="turn-1"))
    await asyncio.sleep(0.5)
    # Another replica took the turn over while this attempt looked dead.
    await _sql(
        chat_env.database_url,
        "UPDATE chat_turns SET attempts = attempts + 1 WHERE user_id = $1 AND request_id = $2",
        user_id,
        "turn-1",
    )
    release.set()

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await first
    assert caught.value.code() is grpc.StatusCode.ABORTED
    assert await _messages(chat, chat_env, user_id) == [("user", "hello")], "no answer stored"
    row = await _turn(chat_env, user_id, "turn-1")
    assert (row["status"], row["attempts"]) == ("running", 2), "the new attempt's claim stands"
