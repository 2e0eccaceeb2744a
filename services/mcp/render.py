"""What an MCP client gets back from a tool: structured content and a short text.

The structured content is the executor's result, the same JSON TodoBot reads. MCP
before 2026-07-28 wants a JSON object there, so a list comes wrapped as
`{"tasks": [...]}`. The text is for clients that show their model only text: one
line per task, with every id a follow-up call needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp_types import CallToolResult, TextContent

_PRIORITY_PREFIX = "PRIORITY_"
_VERBS = {"add_task": "Added", "update_task": "Updated"}


def success(tool: str, result: Any) -> CallToolResult:
    if isinstance(result, list):
        structured: dict[str, Any] = {"tasks": result}
        text = _task_list(result)
    else:
        structured = dict(result)
        text = _single(tool, structured)
    return CallToolResult(content=[TextContent(text=text)], structured_content=structured)


def failure(code: str, message: str) -> CallToolResult:
    """A tool error the client's model can read and act on (MCP `isError`)."""
    return CallToolResult(
        content=[TextContent(text=f"{code}: {message}")],
        structured_content={"error": {"code": code, "message": message}},
        is_error=True,
    )


def task_line(task: Mapping[str, Any]) -> str:
    mark = "x" if task.get("completed") else " "
    details = [f"id {task.get('id', '')}"]
    priority = str(task.get("priority") or "")
    if priority.startswith(_PRIORITY_PREFIX) and priority != "PRIORITY_UNSPECIFIED":
        details.append(f"{priority.removeprefix(_PRIORITY_PREFIX).lower()} priority")
    if task.get("due_time"):
        details.append(f"due {task['due_time']}")
    if task.get("tags"):
        details.append("tags " + ", ".join(task["tags"]))
    return f"[{mark}] {task.get('title', '')} ({'; '.join(details)})"


def _task_list(tasks: list[Mapping[str, Any]]) -> str:
    if not tasks:
        return "No tasks."
    noun = "task" if len(tasks) == 1 else "tasks"
    return "\n".join([f"{len(tasks)} {noun}:", *(task_line(t) for t in tasks)])


def _single(tool: str, result: Mapping[str, Any]) -> str:
    if result.get("deleted"):
        return f"Deleted task {result.get('task_id', '')}."
    if tool == "complete_task":
        verb = "Completed" if result.get("completed") else "Reopened"
    else:
        verb = _VERBS.get(tool, "Task")
    return f"{verb}: {task_line(result)}"
