"""The offline agent's plans: each intent as a generator of tool-call batches.

A plan yields a batch of tool calls, receives their results (in call order) and finally
returns the answer text. Every task operation goes through a tool call, and a task named
by title or position is first looked up with list_tasks so the change uses the real id.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from services.chat.llm.offline_dates import describe, rfc3339
from services.chat.llm.offline_intents import (
    AddTasks,
    ChangeTasks,
    ClearCompleted,
    Intent,
    NewTask,
    ShowTasks,
    Talk,
    action_phrase,
)
from services.chat.llm.offline_listing import (
    TaskView,
    error_text,
    notes,
    numbered,
    quote,
    quote_all,
    task_from,
    tasks_in,
)
from services.chat.llm.offline_resolve import (
    Ambiguous,
    Found,
    Memory,
    Missing,
    NoList,
    OutOfRange,
    Resolution,
    by_text,
    resolve,
)
from services.chat.llm.offline_talk import talk_reply

ToolCall = tuple[str, dict[str, Any]]
ToolResult = tuple[bool, Any]  # (ok, result)
Plan = Generator[tuple[ToolCall, ...], list[ToolResult], str]

PAGE = 100
LIST_ALL: dict[str, Any] = {"status": "all", "sort": "created_at", "page_size": PAGE}
_DONE_VERBS = {"complete": "Marked {} as done.", "reopen": "Reopened {}.", "delete": "Deleted {}."}


def run(intents: Sequence[Intent], memory: Memory) -> Plan:
    answers: list[str] = []
    for intent in intents:
        if isinstance(intent, Talk):
            answers.append(talk_reply(intent))
        elif isinstance(intent, AddTasks):
            answers.append((yield from _add(intent, memory)))
        elif isinstance(intent, ShowTasks):
            answers.append((yield from _show(intent, memory)))
        elif isinstance(intent, ChangeTasks):
            answers.append((yield from _change(intent, memory)))
        else:
            answers.append((yield from _clear(intent)))
    return "\n\n".join(a for a in answers if a)


def _add_args(task: NewTask) -> dict[str, Any]:
    args: dict[str, Any] = {"title": task.title}
    if task.priority:
        args["priority"] = task.priority
    if task.due is not None:
        args["due_time"] = rfc3339(task.due)
    if task.tags:
        args["tags"] = list(task.tags)
    return args


def _add(intent: AddTasks, memory: Memory) -> Plan:
    results = yield tuple(("add_task", _add_args(t)) for t in intent.tasks)
    added: list[str] = []
    failed: list[str] = []
    for task, (ok, result) in zip(intent.tasks, results, strict=True):
        if not ok:
            failed.append(f"I couldn't add {quote(task.title)}: {error_text(result)}.")
            continue
        view = task_from(result) or TaskView(
            "", task.title, False, task.priority, task.due, task.tags
        )
        extra = notes(view, memory.now)
        added.append(quote(view.title) + (f" ({', '.join(extra)})" if extra else ""))
    lines = []
    if len(added) == 1:
        lines.append(f"Added {added[0]}.")
    elif added:
        lines.append(f"Added {len(added)} tasks: " + ", ".join(added[:-1]) + f" and {added[-1]}.")
    return " ".join(lines + failed)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _show(intent: ShowTasks, memory: Memory) -> Plan:
    args: dict[str, Any] = {
        "status": intent.status,
        "sort": "due_time" if intent.by_due else "created_at",
        "page_size": PAGE,
    }
    if intent.search:
        args["search"] = intent.search
    if intent.tag:
        args["tag"] = intent.tag.lower()
    ((ok, result),) = yield (("list_tasks", args),)
    if not ok:
        return f"I couldn't load your tasks: {error_text(result)}."
    tasks = tasks_in(result) or []
    kind = {"all": "task", "pending": "open task", "completed": "finished task"}[intent.status]
    if intent.search or intent.tag:
        where = f"matching {quote(intent.search)}" if intent.search else f"tagged #{intent.tag}"
        if not tasks:
            return f"I found no {kind}s {where}."
        header = f"I found {_count(len(tasks), kind)} {where}:"
    elif not tasks:
        return {
            "all": "Your list is empty. Add something with “add buy milk”.",
            "pending": "Nothing open: you're all caught up!",
            "completed": "You haven't finished any tasks yet.",
        }[intent.status]
    elif intent.status == "all":
        done = sum(t.completed for t in tasks)
        header = f"You have {_count(len(tasks), 'task')}" + (f" ({done} done):" if done else ":")
    elif intent.status == "pending":
        header = f"You have {_count(len(tasks), kind)}:"
    else:
        header = f"You've finished {_count(len(tasks), 'task')}:"
    total = result.get("total_size") if isinstance(result, dict) else None
    if isinstance(total, int) and total > len(tasks):
        header = header[:-1] + f" (showing the first {len(tasks)} of {total}):"
    return f"{header}\n{numbered(tasks, memory.now)}"


def _resolve(change: ChangeTasks, tasks: list[TaskView], memory: Memory) -> list[Resolution]:
    if change.whole is not None:
        whole = by_text(change.whole.text, change.action, tasks)
        if isinstance(whole, Found):
            return [whole]
    within = [i.title for i in memory.shown or ()] if change.within_shown else []
    return [
        by_text(ref.text, change.action, tasks, within)
        if ref.kind == "text" and within
        else resolve(ref, change.action, tasks, memory)
        for ref in change.targets
    ]


def _change(change: ChangeTasks, memory: Memory) -> Plan:
    ((ok, result),) = yield (("list_tasks", dict(LIST_ALL)),)
    if not ok:
        return f"I couldn't look up your tasks: {error_text(result)}."
    tasks = tasks_in(result) or []
    picked: list[TaskView] = []
    notes_: list[str] = []
    question = ""
    for resolution in _resolve(change, tasks, memory):
        if isinstance(resolution, Found):
            picked += [t for t in resolution.tasks if t not in picked]
        elif isinstance(resolution, Ambiguous) and not question:
            question = (
                f"I found {len(resolution.candidates)} tasks matching {quote(resolution.said)}:\n"
                f"{numbered(resolution.candidates, memory.now)}\n"
                f"Which one should I {action_phrase(change)}? Reply with its number."
            )
        elif isinstance(resolution, NoList) and not question:
            question = (
                "I haven't shown you a list yet, so I can't tell which one you mean. "
                + (f"Here are your tasks:\n{numbered(tasks, memory.now)}\n" if tasks else "")
                + f"Which one should I {action_phrase(change)}? Reply with its number."
            )
        elif isinstance(resolution, OutOfRange):
            notes_.append(
                f"The last list I showed has {_count(resolution.size, 'task')}, "
                f"so there's no #{resolution.position}."
            )
        elif isinstance(resolution, Missing):
            notes_.append(f"I couldn't find a task matching {quote(resolution.said)}.")
        elif not isinstance(resolution, Ambiguous | NoList):
            notes_.append("I'm not sure which task you mean. Tell me its name or number.")
    calls, skipped = _calls(change, picked)
    done: list[str] = []
    if calls:
        results = yield tuple(call for call, _ in calls)
        done = _outcomes(change, [task for _, task in calls], results, memory)
    return " ".join(done + skipped + notes_ + ([question] if question else []))


def _calls(
    change: ChangeTasks, picked: list[TaskView]
) -> tuple[list[tuple[ToolCall, TaskView]], list[str]]:
    calls: list[tuple[ToolCall, TaskView]] = []
    skipped: list[str] = []
    for task in picked:
        if change.action in ("complete", "reopen"):
            wanted = change.action == "complete"
            if task.completed == wanted:
                skipped.append(f"{quote(task.title)} is already {'done' if wanted else 'open'}.")
                continue
            args: dict[str, Any] = {"task_id": task.id, "completed": wanted}
            calls.append((("complete_task", args), task))
        elif change.action == "delete":
            calls.append((("delete_task", {"task_id": task.id}), task))
        else:
            calls.append((("update_task", {"task_id": task.id, **_fields(change, task)}), task))
    return calls, skipped


def _fields(change: ChangeTasks, task: TaskView) -> dict[str, Any]:
    if change.action == "rename":
        return {"title": change.value[:1].upper() + change.value[1:]}
    if change.action == "describe":
        return {"description": change.value}
    if change.action == "prioritize":
        return {"priority": change.value}
    if change.action == "schedule" and change.due is not None:
        return {"due_time": rfc3339(change.due)}
    new = [t.strip() for t in change.value.split(",") if t.strip()]
    return {"tags": list(dict.fromkeys([*task.tags, *new]))}


def _outcomes(
    change: ChangeTasks, tasks: list[TaskView], results: list[ToolResult], memory: Memory
) -> list[str]:
    succeeded: list[TaskView] = []
    sentences: list[str] = []
    for task, (ok, result) in zip(tasks, results, strict=True):
        if ok:
            succeeded.append(task_from(result) or task)
        else:
            verb = change.action if change.action in _DONE_VERBS else "update"
            sentences.append(f"I couldn't {verb} {quote(task.title)}: {error_text(result)}.")
    if not succeeded:
        return sentences
    before = quote_all([t.title for t in tasks if any(s.id == t.id for s in succeeded)])
    after = quote_all([t.title for t in succeeded])
    if change.action in _DONE_VERBS:
        said = _DONE_VERBS[change.action].format(before)
    elif change.action == "rename":
        said = f"Renamed {before} to {quote(succeeded[0].title)}."
    elif change.action == "describe":
        said = f"Updated the description of {after}."
    elif change.action == "prioritize":
        said = f"Set {after} to {change.value} priority."
    elif change.action == "schedule" and change.due is not None:
        said = f"{after} {'is' if len(succeeded) == 1 else 'are'} now due "
        said += f"{describe(change.due, memory.now)}."
    else:
        tags = " and ".join(f"#{t.strip()}" for t in change.value.split(","))
        said = f"Tagged {after} with {tags}."
    return [said, *sentences]


def _clear(intent: ClearCompleted) -> Plan:
    args = {"status": "completed", "sort": "created_at", "page_size": PAGE}
    ((ok, result),) = yield (("list_tasks", args),)
    if not ok:
        return f"I couldn't look up your tasks: {error_text(result)}."
    tasks = tasks_in(result) or []
    if not tasks:
        return "There are no finished tasks to clear."
    results = yield tuple(("delete_task", {"task_id": t.id}) for t in tasks)
    gone = [t.title for t, (ok, _) in zip(tasks, results, strict=True) if ok]
    failed = len(tasks) - len(gone)
    text = f"Cleared {_count(len(gone), 'finished task')}: {quote_all(gone)}." if gone else ""
    return text + (f" {failed} could not be deleted." if failed else "")
