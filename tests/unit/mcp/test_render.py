"""services.mcp.render: structured content as MCP wants it, and the short text."""

from __future__ import annotations

from typing import Any

import pytest
from mcp_types import TextContent

from services.mcp import render

_TASK = {
    "id": "t-1",
    "title": "Buy milk",
    "completed": False,
    "priority": "PRIORITY_UNSPECIFIED",
    "due_time": None,
    "tags": [],
}


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        pytest.param({}, "[ ] Buy milk (id t-1)", id="plain"),
        pytest.param({"completed": True}, "[x] Buy milk (id t-1)", id="done"),
        pytest.param(
            {"priority": "PRIORITY_HIGH"}, "[ ] Buy milk (id t-1; high priority)", id="priority"
        ),
        pytest.param(
            {"due_time": "2026-03-14T17:00:00Z", "tags": ["errands", "home"]},
            "[ ] Buy milk (id t-1; due 2026-03-14T17:00:00Z; tags errands, home)",
            id="due-and-tags",
        ),
    ],
)
def test_task_line(changes: dict[str, Any], line: str) -> None:
    assert render.task_line({**_TASK, **changes}) == line


def _text(result: Any) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


@pytest.mark.parametrize(
    ("tool", "result", "structured", "text"),
    [
        pytest.param(
            "list_tasks",
            [_TASK, {**_TASK, "id": "t-2", "title": "Call mum"}],
            {"tasks": [_TASK, {**_TASK, "id": "t-2", "title": "Call mum"}]},
            "2 tasks:\n[ ] Buy milk (id t-1)\n[ ] Call mum (id t-2)",
            id="list-wrapped-in-an-object",
        ),
        pytest.param("list_tasks", [], {"tasks": []}, "No tasks.", id="empty-list"),
        pytest.param("add_task", _TASK, _TASK, "Added: [ ] Buy milk (id t-1)", id="added"),
        pytest.param(
            "complete_task",
            {**_TASK, "completed": True},
            {**_TASK, "completed": True},
            "Completed: [x] Buy milk (id t-1)",
            id="completed",
        ),
        pytest.param(
            "complete_task", _TASK, _TASK, "Reopened: [ ] Buy milk (id t-1)", id="reopened"
        ),
        pytest.param(
            "delete_task",
            {"task_id": "t-1", "deleted": True},
            {"task_id": "t-1", "deleted": True},
            "Deleted task t-1.",
            id="deleted",
        ),
    ],
)
def test_success(tool: str, result: Any, structured: Any, text: str) -> None:
    rendered = render.success(tool, result)
    assert not rendered.is_error
    assert rendered.structured_content == structured
    assert _text(rendered) == text


def test_failure_is_a_tool_error_with_code_and_message() -> None:
    rendered = render.failure("NOT_FOUND", "task t-9 not found")
    assert rendered.is_error
    assert rendered.structured_content == {
        "error": {"code": "NOT_FOUND", "message": "task t-9 not found"}
    }
    assert _text(rendered) == "NOT_FOUND: task t-9 not found"
