"""Runs a turn in its own task and yields its events as they happen, then the answer.

If the consumer goes away (the client disconnected, the deadline passed) the generator
is closed or cancelled; the turn task is then cancelled too, which cancels the model
call in flight, and the turn records itself as failed so a retry can resume it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from services.chat.agent.loop import AgentEvents
from services.chat.domain import ChatAnswer, ToolCallRecord
from services.chat.llm.base import ToolCallRequest


@dataclass(frozen=True)
class ToolStarted:
    index: int
    name: str
    arguments_json: str


@dataclass(frozen=True)
class ToolFinished:
    index: int
    record: ToolCallRecord


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Done:
    answer: ChatAnswer


TurnEvent = ToolStarted | ToolFinished | TextDelta | Done


class _QueueEvents(AgentEvents):
    def __init__(self, queue: asyncio.Queue[TurnEvent | None]) -> None:
        self._queue = queue

    async def tool_started(self, index: int, call: ToolCallRequest) -> None:
        arguments = json.dumps(call.arguments, ensure_ascii=False, default=str)
        self._queue.put_nowait(ToolStarted(index, call.name, arguments))

    async def tool_finished(self, index: int, record: ToolCallRecord) -> None:
        self._queue.put_nowait(ToolFinished(index, record))

    async def text(self, delta: str) -> None:
        self._queue.put_nowait(TextDelta(delta))


async def stream_turn(
    run: Callable[[AgentEvents], Awaitable[ChatAnswer]],
) -> AsyncIterator[TurnEvent]:
    """Yields the turn's events in order and `Done` last; a failed turn raises its error."""
    queue: asyncio.Queue[TurnEvent | None] = asyncio.Queue()

    async def runner() -> ChatAnswer:
        try:
            return await run(_QueueEvents(queue))
        finally:
            queue.put_nowait(None)  # wakes the reader whatever happened

    task = asyncio.create_task(runner(), name="chat-turn")
    try:
        while (event := await queue.get()) is not None:
            yield event
        yield Done(await task)
    finally:
        if not task.done():
            task.cancel()
            # Let the turn record its failure before the handler goes away.
            await asyncio.wait([task])
