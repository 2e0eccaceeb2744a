"""What the offline agent shows, and how it reads back what it showed.

The agent keeps no state between requests, so its own previous answers (stored in the
conversation history) are its memory. Everything it will need to read back is written
in one fixed format, rendered and parsed only here:

    You have 2 open tasks:
    1. Buy milk
    2. Pay rent — high priority, due Fri 14 Mar, #home
    3. Call mom — done

- a numbered line per task: `N. <title>` plus optional notes after " — ", drawn from a
  closed vocabulary (`done`, `<level> priority`, `due <date>`, `#tag`), so a title
  is never mistaken for a note;
- task titles in running text are quoted “like this”, which is how "it" is resolved;
- a question about which task to act on reads "Which one should I <action>?", and the
  action phrase says what to do once the user picks one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.chat.llm.base import HistoryMessage
from services.chat.llm.offline_dates import describe

_NOTE = r"(?:done|(?:low|medium|high) priority|due [^,—]+|#[\w-]+)"
_LINE = re.compile(rf"^(?P<n>\d{{1,3}})\. (?P<title>.+?)(?: — (?P<notes>{_NOTE}(?:, {_NOTE})*))?$")
_QUOTED = re.compile(r"“([^”]+)”")
_QUESTION = re.compile(r"Which one should I (?P<action>.+?)\?")


@dataclass(frozen=True)
class TaskView:
    """A task as a tool result describes it, normalized from proto JSON."""

    id: str
    title: str
    completed: bool = False
    priority: str | None = None  # low, medium, high
    due: datetime | None = None
    tags: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaskView | None:
        task_id, title = data.get("id"), data.get("title")
        if not isinstance(task_id, str) or not isinstance(title, str):
            return None
        priority = str(data.get("priority") or "").lower().removeprefix("priority_")
        due = None
        raw_due = data.get("due_time") or data.get("dueTime")
        if isinstance(raw_due, str):
            try:
                due = datetime.fromisoformat(raw_due.replace("Z", "+00:00"))
            except ValueError:
                due = None
        tags = data.get("tags") or ()
        return cls(
            id=task_id,
            title=title,
            completed=bool(data.get("completed")),
            priority=priority if priority in ("low", "medium", "high") else None,
            due=due,
            tags=tuple(str(t) for t in tags if isinstance(t, str)),
        )


@dataclass(frozen=True)
class ShownItem:
    """One numbered line of a list the agent showed earlier."""

    position: int
    title: str
    completed: bool


def tasks_in(result: Any) -> list[TaskView] | None:
    """The tasks of a list_tasks result (`{"tasks": [...]}` or a bare list); None if not one."""
    items = result.get("tasks", []) if isinstance(result, Mapping) else result
    if not isinstance(items, list):
        return None
    return [view for item in items if isinstance(item, Mapping) if (view := task_from(item))]


def task_from(result: Any) -> TaskView | None:
    """The task of an add/update/complete result (`{"task": {...}}` or the task itself)."""
    if not isinstance(result, Mapping):
        return None
    inner = result.get("task", result)
    return TaskView.from_json(inner) if isinstance(inner, Mapping) else None


def error_text(result: Any) -> str:
    """A short human reason from a failed tool result."""
    if isinstance(result, Mapping):
        for key in ("message", "error", "detail"):
            value = result.get(key)
            if isinstance(value, str) and value:
                return value.rstrip(".")
            if isinstance(value, Mapping):
                return error_text(value)
    if isinstance(result, str) and result:
        return result.rstrip(".")
    return "something went wrong"


def quote(title: str) -> str:
    return f"“{title}”"


def quote_all(titles: Sequence[str]) -> str:
    quoted = [quote(t) for t in titles]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def notes(task: TaskView, now: datetime) -> list[str]:
    found = ["done"] if task.completed else []
    if task.priority:
        found.append(f"{task.priority} priority")
    if task.due is not None:
        found.append(f"due {describe(task.due, now)}")
    found += [f"#{tag}" for tag in task.tags if re.fullmatch(r"[\w-]+", tag)]
    return found


def numbered(tasks: Sequence[TaskView], now: datetime) -> str:
    lines = []
    for position, task in enumerate(tasks, 1):
        extra = notes(task, now)
        title = " ".join(task.title.split())  # one line per task, whatever the title holds
        lines.append(f"{position}. {title}" + (f" — {', '.join(extra)}" if extra else ""))
    return "\n".join(lines)


def shown_list(history: Sequence[HistoryMessage]) -> list[ShownItem] | None:
    """The most recent numbered list in the agent's earlier answers (the newest message is
    the user's and is skipped), or None if it never showed one."""
    for message in reversed(history[:-1]):
        if message.role != "assistant":
            continue
        items = []
        for line in message.content.splitlines():
            match = _LINE.match(line.strip())
            if match:
                marks = (match.group("notes") or "").split(", ")
                items.append(
                    ShownItem(int(match.group("n")), match.group("title"), "done" in marks)
                )
        if items:
            return items
    return None


def last_answer(history: Sequence[HistoryMessage]) -> str:
    for message in reversed(history[:-1]):
        if message.role == "assistant":
            return message.content
    return ""


def pending_action(history: Sequence[HistoryMessage]) -> str | None:
    """The action phrase of a "Which one should I …?" in the agent's last answer."""
    match = _QUESTION.search(last_answer(history))
    return match.group("action") if match else None


def mentioned_titles(history: Sequence[HistoryMessage]) -> list[str]:
    """Titles quoted in the agent's last answer, in order, without repeats."""
    return list(dict.fromkeys(_QUOTED.findall(last_answer(history))))
