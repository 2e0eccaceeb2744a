"""Tool results for agent tests: answers tool calls the way TaskService would, in memory.

It stands in for the tool executor (not for any model), so a provider's session can be
driven through a whole turn. Results have the executor's shapes (services/chat/
tasks_client.py): list_tasks a bare list of tasks, add/complete/update the task,
delete `{"task_id", "deleted"}`, a task error `ok=False` with a code and message.
Every call is recorded.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from services.chat.llm.base import (
    HistoryMessage,
    LlmProvider,
    ToolCallRequest,
    ToolOutcome,
    TurnInput,
)


def task(
    task_id: str,
    title: str,
    *,
    completed: bool = False,
    priority: str = "PRIORITY_UNSPECIFIED",
    due_time: str | None = None,
    tags: Sequence[str] = (),
) -> dict[str, Any]:
    """A task as proto JSON (preserving field names) renders it."""
    return {
        "id": task_id,
        "user_id": "u-1",
        "title": title,
        "description": None,
        "completed": completed,
        "priority": priority,
        "due_time": due_time,
        "tags": list(tags),
    }


@dataclass
class TaskBook:
    tasks: list[dict[str, Any]]
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)  # tool names that answer UNAVAILABLE
    _next_id: int = 100

    def run(self, call: ToolCallRequest) -> ToolOutcome:
        self.calls.append((call.name, copy.deepcopy(call.arguments)))
        if call.name in self.failing:
            return ToolOutcome(call, {"code": "UNAVAILABLE", "message": "tasks are down"}, False)
        args = call.arguments
        if call.name == "list_tasks":
            return ToolOutcome(call, self._list(args), True)
        if call.name == "add_task":
            self._next_id += 1
            created = task(f"t-{self._next_id}", args["title"], tags=args.get("tags", ()))
            if "priority" in args:
                created["priority"] = f"PRIORITY_{args['priority'].upper()}"
            created["due_time"] = args.get("due_time")
            self.tasks.append(created)
            return ToolOutcome(call, copy.deepcopy(created), True)
        found = next((t for t in self.tasks if t["id"] == args.get("task_id")), None)
        if found is None:
            return ToolOutcome(call, {"code": "NOT_FOUND", "message": "task not found"}, False)
        if call.name == "delete_task":
            self.tasks.remove(found)
            return ToolOutcome(call, {"task_id": found["id"], "deleted": True}, True)
        if call.name == "complete_task":
            found["completed"] = args.get("completed", not found["completed"])
        else:
            for key in ("title", "description", "completed", "due_time", "tags"):
                if key in args:
                    found[key] = args[key]
            if "priority" in args:
                found["priority"] = f"PRIORITY_{args['priority'].upper()}"
        return ToolOutcome(call, copy.deepcopy(found), True)

    def _list(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        status = args.get("status", "all")
        search = str(args.get("search", "")).lower()
        tag = args.get("tag")
        return [
            copy.deepcopy(t)
            for t in self.tasks
            if (status == "all" or t["completed"] == (status == "completed"))
            and (not search or search in t["title"].lower())
            and (tag is None or tag in t["tags"])
        ]


async def drive(
    provider: LlmProvider,
    book: TaskBook,
    history: Sequence[HistoryMessage],
    *,
    context: str | None = None,
    max_steps: int = 5,
) -> str:
    """Runs one turn like the agent loop does; returns the final text."""
    session = provider.open_session(
        TurnInput(system_prompt="", history=list(history), tools=(), context=context)
    )
    for _ in range(max_steps):
        step = await session.next_step(timeout_seconds=1.0)
        if not step.tool_calls:
            return step.text
        session.add_tool_outcomes([book.run(call) for call in step.tool_calls])
    raise AssertionError(f"no answer within {max_steps} steps")
