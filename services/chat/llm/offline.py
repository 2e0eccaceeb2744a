"""The offline agent: a deterministic, rule-based TodoBot behind the same interface as a model.

It needs no key and no network. It reads the user's message (offline_phrases), recalls
what it showed before from the history (offline_listing), and runs a plan
(offline_plans) whose tool calls the agent loop executes like any model's, so every
task operation goes through TaskService as the user. Nothing is kept between requests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from services.chat.llm.base import ModelStep, TextSink, ToolCallRequest, ToolOutcome, TurnInput
from services.chat.llm.offline_listing import mentioned_titles, pending_action, shown_list
from services.chat.llm.offline_phrases import parse
from services.chat.llm.offline_plans import Plan, ToolResult, run
from services.chat.llm.offline_resolve import Memory

PROVIDER = "offline"
MODEL = "todobot-rules"
Clock = Callable[[], datetime]
_NOT_RUN: ToolResult = (False, {"message": "the tool call was not run"})


def _utc_now() -> datetime:
    return datetime.now(UTC)


class OfflineProvider:
    name = PROVIDER
    model = MODEL

    def __init__(self, clock: Clock = _utc_now) -> None:
        self._clock = clock

    def open_session(self, turn: TurnInput) -> OfflineSession:
        history = list(turn.history)
        now = self._clock()
        message = history[-1].content if history and history[-1].role == "user" else ""
        memory = Memory(
            now=now,
            shown=shown_list(history),
            mentioned=mentioned_titles(history),
            context=turn.context,
        )
        return OfflineSession(run(parse(message, now, pending_action(history)), memory))

    async def aclose(self) -> None:
        return None


class OfflineSession:
    """Drives one plan: each step is the plan's next batch of tool calls, or its answer."""

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self._started = False
        self._pending: tuple[ToolCallRequest, ...] = ()
        self._results: list[ToolResult] = []
        self._answer: str | None = None
        self._steps = 0

    async def next_step(
        self, *, timeout_seconds: float, on_text: TextSink | None = None
    ) -> ModelStep:
        if self._answer is None:
            if len(self._results) != len(self._pending):  # outcomes never came back
                self._results = [_NOT_RUN] * len(self._pending)
            try:
                batch = self._plan.send(self._results) if self._started else next(self._plan)
            except StopIteration as finished:
                self._answer = str(finished.value)
            else:
                self._started = True
                self._steps += 1
                self._pending = tuple(
                    ToolCallRequest(f"offline-{self._steps}-{index}", name, dict(args))
                    for index, (name, args) in enumerate(batch)
                )
                self._results = []
                return ModelStep(tool_calls=self._pending)
        if on_text is not None:
            for line in self._answer.splitlines(keepends=True):
                await on_text(line)
        return ModelStep(text=self._answer)

    def add_tool_outcomes(self, outcomes: Sequence[ToolOutcome]) -> None:
        by_id = {o.call.id: o for o in outcomes}
        self._results = [
            (o.ok, o.result) if (o := by_id.get(call.id)) is not None else _NOT_RUN
            for call in self._pending
        ]
