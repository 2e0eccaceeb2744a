"""A scripted model behind the real `LlmProvider` protocol, for loop and turn tests.

A script is a function of the session (what the model was given, which step this is, the
tool outcomes it got back) that returns the next step, or raises like a provider would.
Every session is kept, so tests assert on exactly what the model received.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from services.chat.llm.base import (
    ModelStep,
    TextSink,
    ToolCallRequest,
    ToolOutcome,
    TurnInput,
)

Script = Callable[["ScriptedSession"], ModelStep | Awaitable[ModelStep]]
_ids = itertools.count(1)


def call(name: str, **arguments: Any) -> ToolCallRequest:
    return ToolCallRequest(id=f"call-{next(_ids)}", name=name, arguments=arguments)


def tools(*calls: ToolCallRequest, text: str = "") -> ModelStep:
    return ModelStep(text=text, tool_calls=tuple(calls))


def say(text: str) -> ModelStep:
    return ModelStep(text=text)


class ScriptedSession:
    def __init__(self, turn: TurnInput, script: Script) -> None:
        self.turn = turn
        self._script = script
        self.step = 0
        self.outcomes: list[list[ToolOutcome]] = []
        self.timeouts: list[float] = []

    @property
    def message(self) -> str:
        """The newest user message: what this turn is about."""
        return self.turn.history[-1].content

    @property
    def last_outcomes(self) -> list[ToolOutcome]:
        return self.outcomes[-1] if self.outcomes else []

    async def next_step(
        self, *, timeout_seconds: float, on_text: TextSink | None = None
    ) -> ModelStep:
        self.timeouts.append(timeout_seconds)
        produced = self._script(self)
        step = await produced if inspect.isawaitable(produced) else produced
        self.step += 1
        if on_text is not None and step.text:
            words = step.text.split(" ")
            for i, word in enumerate(words):
                await on_text(word if i == len(words) - 1 else word + " ")
        return step

    def add_tool_outcomes(self, outcomes: Sequence[ToolOutcome]) -> None:
        self.outcomes.append(list(outcomes))


class ScriptedProvider:
    name = "scripted"

    def __init__(self, script: Script | None = None) -> None:
        self.script: Script = script or task_bot
        self.sessions: list[ScriptedSession] = []
        self.closed = False

    def open_session(self, turn: TurnInput) -> ScriptedSession:
        session = ScriptedSession(turn, self.script)
        self.sessions.append(session)
        return session

    async def aclose(self) -> None:
        self.closed = True


def task_bot(session: ScriptedSession) -> ModelStep:
    """Understands "add X", "list", "complete ID", "delete ID"; echoes anything else."""
    verb, _, rest = session.message.partition(" ")
    if session.step == 0:
        if verb == "add":
            return tools(call("add_task", title=rest))
        if verb == "list":
            return tools(call("list_tasks"))
        if verb in {"complete", "delete"}:
            return tools(call(f"{verb}_task", task_id=rest))
        return say(f"echo: {session.message}")
    outcome = session.last_outcomes[0]
    if not outcome.ok:
        return say(f"That failed: {outcome.result['code']}")
    if verb == "add":
        return say(f'Added "{outcome.result["title"]}".')
    if verb == "list":
        return say(", ".join(t["title"] for t in outcome.result) or "Nothing yet.")
    return say(f"{verb.capitalize()}d.")
