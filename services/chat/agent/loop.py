"""The agent loop: ask the model, run the tools it asks for, hand back the results, repeat.

It knows nothing about which model it talks to (only `ModelSession`) nor about storage.
It stops at a text-only answer or after `max_tool_steps` rounds of tool calls, and it
never runs past the turn's deadline. Model failures propagate as the domain errors the
provider raised; a tool's task error goes back to the model as that tool's result.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol

from services.chat.agent.executor import ToolExecutor
from services.chat.domain import Deadline, ToolCallRecord
from services.chat.llm.base import (
    ModelSession,
    ModelStep,
    TextSink,
    ToolCallRequest,
    ToolOutcome,
    Usage,
)
from services.servicekit.errors import DeadlineExceeded, DomainError

# A provider should honour `timeout_seconds` itself; this is the backstop if it does not.
_BACKSTOP_SECONDS = 1.0
NO_TEXT_ANSWER = "Done."


class AgentEvents(Protocol):
    """What a streaming caller hears while the loop runs."""

    async def tool_started(self, index: int, call: ToolCallRequest) -> None: ...

    async def tool_finished(self, index: int, record: ToolCallRecord) -> None: ...

    async def text(self, delta: str) -> None: ...


class AgentObserver(Protocol):
    """Where the loop reports model and tool calls (metrics); outcomes are short labels."""

    def model_step(self, outcome: str, seconds: float, usage: Usage | None) -> None: ...

    def tool_call(self, name: str, outcome: str) -> None: ...


class _Unobserved:
    def model_step(self, outcome: str, seconds: float, usage: Usage | None) -> None:
        pass

    def tool_call(self, name: str, outcome: str) -> None:
        pass


@dataclass(frozen=True)
class AgentLimits:
    max_tool_steps: int
    llm_timeout_seconds: float


@dataclass(frozen=True)
class AgentResult:
    text: str
    tool_calls: tuple[ToolCallRecord, ...]
    hit_step_limit: bool = False


def step_limit_note(max_tool_steps: int) -> str:
    return (
        f"I stopped after {max_tool_steps} rounds of task actions, the most I take for one "
        "message, so this may be unfinished. Tell me to continue if there is more to do."
    )


def turn_out_of_time() -> DeadlineExceeded:
    return DeadlineExceeded("the turn ran out of time", reason="TURN_DEADLINE_EXCEEDED")


class _Text:
    """The answer's text across steps, streamed with the same separators it is stored with."""

    def __init__(self, events: AgentEvents | None) -> None:
        self._events = events
        self.parts: list[str] = []
        self._streamed_any = False
        self._step_started = False

    def new_step(self) -> None:
        self._step_started = False

    async def delta(self, text: str) -> None:
        if not text or self._events is None:
            return
        if self._streamed_any and not self._step_started:
            await self._events.text("\n\n")
        self._streamed_any = self._step_started = True
        await self._events.text(text)

    async def finish_step(self, step_text: str, *, streamed: bool) -> None:
        if not step_text.strip():
            return
        if not streamed:
            # A provider that did not stream this step: send its text in one piece.
            await self.delta(step_text)
        self.parts.append(step_text)

    async def append_note(self, note: str) -> None:
        self.new_step()
        await self.delta(note)
        self.parts.append(note)

    def joined(self) -> str:
        return "\n\n".join(self.parts)


async def _next_step(
    session: ModelSession,
    deadline: Deadline,
    limits: AgentLimits,
    on_text: TextSink | None,
    observer: AgentObserver,
) -> ModelStep:
    remaining = deadline.remaining()
    if remaining <= 0:
        raise turn_out_of_time()
    timeout = min(limits.llm_timeout_seconds, remaining)
    started = time.perf_counter()
    outcome = "cancelled"
    try:
        async with asyncio.timeout(timeout + _BACKSTOP_SECONDS):
            step = await session.next_step(timeout_seconds=timeout, on_text=on_text)
        outcome = "ok"
        observer.model_step(outcome, time.perf_counter() - started, step.usage)
        return step
    except TimeoutError as exc:
        outcome = "TURN_DEADLINE_EXCEEDED"
        raise turn_out_of_time() from exc
    except DomainError as exc:
        outcome = exc.reason
        raise
    except Exception:
        outcome = "error"
        raise
    finally:
        if outcome != "ok":
            observer.model_step(outcome, time.perf_counter() - started, None)


async def _run_tool(
    executor: ToolExecutor, call: ToolCallRequest, step: int, index: int, observer: AgentObserver
) -> ToolOutcome:
    try:
        outcome = await executor.run(call, step, index)
    except BaseException:
        observer.tool_call(call.name, "failed")
        raise
    observer.tool_call(call.name, "ok" if outcome.ok else "rejected")
    return outcome


async def run_agent(
    session: ModelSession,
    executor: ToolExecutor,
    *,
    deadline: Deadline,
    limits: AgentLimits,
    events: AgentEvents | None = None,
    observer: AgentObserver | None = None,
) -> AgentResult:
    """Runs the turn to its answer; the tool calls are recorded in the order they ran."""
    watch = observer or _Unobserved()
    text = _Text(events)
    records: list[ToolCallRecord] = []
    streamed = False

    async def on_text(delta: str) -> None:
        nonlocal streamed
        streamed = streamed or bool(delta)
        await text.delta(delta)

    for step_number in range(limits.max_tool_steps + 1):
        text.new_step()
        streamed = False
        sink = on_text if events is not None else None
        step = await _next_step(session, deadline, limits, sink, watch)
        await text.finish_step(step.text, streamed=streamed)
        if not step.tool_calls:
            return AgentResult(text.joined() or NO_TEXT_ANSWER, tuple(records))
        if step_number == limits.max_tool_steps:
            break
        outcomes: list[ToolOutcome] = []
        for index_in_step, call in enumerate(step.tool_calls):
            index = len(records)
            if events is not None:
                await events.tool_started(index, call)
            outcome = await _run_tool(executor, call, step_number, index_in_step, watch)
            record = ToolCallRecord(call.name, dict(call.arguments), outcome.result, outcome.ok)
            records.append(record)
            outcomes.append(outcome)
            if events is not None:
                await events.tool_finished(index, record)
        session.add_tool_outcomes(outcomes)
    await text.append_note(step_limit_note(limits.max_tool_steps))
    return AgentResult(text.joined(), tuple(records), hit_step_limit=True)
