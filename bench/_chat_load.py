"""The chat-turn load: N users, each a closed loop of `Chat` RPCs in its own conversation.

User i starts at i/N of one model floor (so the N users arrive spread out, as
independent people do, instead of as one synchronized burst) and then sends its next
turn as soon as the previous answer arrives. With several ChatService replicas, user i's
turn n goes to replica (i + n) mod R, so consecutive turns of one conversation land on
different processes (the service keeps no state between turns). Every turn asks the fake model to add a
task titled after the user and the turn number, carries a fresh request_id, and its
answer is checked: one `add_task` call that succeeded, the task's title read back from
TaskService, and the text the fake model wrote from that result.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
from todochat.chat.v1 import chat_service_pb2 as pb
from todochat.chat.v1 import chat_service_pb2_grpc


@dataclass
class User:
    subject: str
    token: str
    conversation_id: str = ""

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),)


@dataclass(frozen=True)
class Turn:
    started: float
    finished: float
    error: str | None

    @property
    def seconds(self) -> float:
        return self.finished - self.started


@dataclass
class Plan:
    """When users start and how long to warm up and measure (perf_counter times, seconds).

    The window opens once `warmup` seconds have passed and every user has finished a
    first turn (the one that creates its conversation), and closes `duration` later.
    """

    begin: float
    spread: float
    warmup: float
    duration: float
    window_start: float = math.inf
    window_end: float = math.inf


@dataclass
class LoadResult:
    turns: list[Turn] = field(default_factory=list)

    def in_window(self, plan: Plan) -> list[Turn]:
        """Turns that started inside the window: their latencies are the sample."""
        return [t for t in self.turns if plan.window_start <= t.started < plan.window_end]

    def completed_in_window(self, plan: Plan) -> int:
        """Successful turns that finished inside the window: what its CPU and SQL served."""
        return sum(
            1
            for t in self.turns
            if t.error is None and plan.window_start <= t.finished <= plan.window_end
        )


class WrongAnswer(Exception):
    pass


def _check(answer: pb.ChatResponse, title: str) -> None:
    calls = list(answer.tool_calls)
    if len(calls) != 1 or calls[0].name != "add_task" or not calls[0].ok:
        raise WrongAnswer(f"expected one successful add_task, got {calls}")
    stored = calls[0].result.struct_value.fields["title"].string_value
    if stored != title:
        raise WrongAnswer(f"task title {stored!r}, expected {title!r}")
    if answer.content != f'Added "{title}".':
        raise WrongAnswer(f"answer {answer.content!r}")


async def _user_loop(
    stubs: list[chat_service_pb2_grpc.ChatServiceStub],
    index: int,
    user: User,
    start_at: float,
    plan: Plan,
    result: LoadResult,
    timeout: float,
    warmed: set[str],
) -> None:
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    n = 0
    while time.perf_counter() < plan.window_end:
        title = f"{user.subject} task {n}"
        request = pb.ChatRequest(
            content=f"please add {title}",
            conversation_id=user.conversation_id,
            request_id=f"{user.subject}-turn-{n}",
        )
        started = time.perf_counter()
        error = None
        try:
            stub = stubs[(index + n) % len(stubs)]
            answer = await stub.Chat(request, metadata=user.metadata, timeout=timeout)
            _check(answer, title)
            user.conversation_id = answer.conversation_id
        except grpc.aio.AioRpcError as exc:
            error = f"{exc.code().name}: {exc.details()}"
        except WrongAnswer as exc:
            error = f"wrong answer: {exc}"
        result.turns.append(Turn(started, time.perf_counter(), error))
        if n == 0:
            warmed.add(user.subject)
        n += 1


async def run_load(
    targets: list[str],
    users: list[User],
    plan: Plan,
    *,
    timeout: float,
    at_window_start: Callable[[], Awaitable[None]],
    at_window_end: Callable[[], Awaitable[None]],
) -> LoadResult:
    """Runs every user's loop until the window closes (in-flight turns finish), and
    awaits the two hooks (snapshots) at the window's edges."""
    result = LoadResult()

    warmed: set[str] = set()

    async def sampler() -> None:
        await asyncio.sleep(max(0.0, plan.begin + plan.warmup - time.perf_counter()))
        while len(warmed) < len(users):
            await asyncio.sleep(0.05)
        await at_window_start()
        plan.window_start = time.perf_counter()
        plan.window_end = plan.window_start + plan.duration
        await asyncio.sleep(plan.duration)
        await at_window_end()

    channels = [grpc.aio.insecure_channel(target) for target in targets]
    try:
        stubs = [chat_service_pb2_grpc.ChatServiceStub(channel) for channel in channels]
        step = plan.spread / len(users)
        loops = [
            _user_loop(stubs, i, user, plan.begin + i * step, plan, result, timeout, warmed)
            for i, user in enumerate(users)
        ]
        await asyncio.gather(sampler(), *loops)
    finally:
        for channel in channels:
            await channel.close()
    return result
