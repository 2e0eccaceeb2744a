"""The five task tools TodoBot may call, declared once.

The schemas mirror `todochat.tasks.v1` (proto/todochat/tasks/v1/*.proto) so the model
produces arguments TaskService accepts; TaskService still validates everything. The
same declarations serve every provider and, later, an MCP server.

Arguments never carry a user id: the tool executor takes the user from the verified
token, so nothing the model writes can reach another user's tasks.
"""

from __future__ import annotations

from typing import Any

from services.chat.llm.base import ToolSpec

PRIORITIES = ("low", "medium", "high")
LIST_STATUSES = ("all", "pending", "completed")
SORT_FIELDS = ("created_at", "updated_at", "due_time", "priority", "title")
TITLE_MAX = 200
DESCRIPTION_MAX = 1000
TAG_MAX = 32
TAGS_MAX_ITEMS = 10


def _task_id() -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "description": "The task's id, exactly as a previous tool result gave it. Never invent one.",
    }


def _title(purpose: str) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": TITLE_MAX,
        "description": f"{purpose} Short and imperative, e.g. 'Buy milk'.",
    }


def _description(purpose: str) -> dict[str, Any]:
    return {"type": "string", "maxLength": DESCRIPTION_MAX, "description": purpose}


def _priority(purpose: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(PRIORITIES), "description": purpose}


def _due_time(purpose: str) -> dict[str, Any]:
    return {
        "type": "string",
        "format": "date-time",
        "description": (
            f"{purpose} RFC 3339 with a timezone, e.g. '2026-03-14T17:00:00Z'. Resolve relative "
            "dates ('tomorrow', 'Friday') against today's date from the instructions."
        ),
    }


def _tags(purpose: str) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": TAG_MAX},
        "maxItems": TAGS_MAX_ITEMS,
        "description": f"{purpose} Lower-case single words, e.g. ['work', 'errands'].",
    }


def _add_task() -> ToolSpec:
    return ToolSpec(
        name="add_task",
        description=(
            "Create one new task for the user. Call it once per task when the user names "
            "several. Returns the created task with its id."
        ),
        parameters={
            "type": "object",
            "properties": {
                "title": _title("What to do."),
                "description": _description("Optional longer notes."),
                "priority": _priority("Optional urgency."),
                "due_time": _due_time("Optional due time."),
                "tags": _tags("Optional labels."),
            },
            "required": ["title"],
        },
    )


def _list_tasks() -> ToolSpec:
    sorts = [f"{prefix}{name}" for name in SORT_FIELDS for prefix in ("", "-")]
    return ToolSpec(
        name="list_tasks",
        description=(
            "List the user's tasks, optionally filtered. Call it to find a task's id before "
            "changing or deleting a task the user named by title. Returns tasks with their "
            "ids, titles, completion state, priority, due time and tags."
        ),
        parameters={
            "type": "object",
            "properties": {
                "status": {
                    "type": "string",
                    "enum": list(LIST_STATUSES),
                    "description": "Completion filter; 'all' when omitted.",
                },
                "search": {
                    "type": "string",
                    "maxLength": 200,
                    "description": "Case-insensitive text to find in titles and descriptions.",
                },
                "tag": {"type": "string", "maxLength": TAG_MAX, "description": "Only this tag."},
                "sort": {
                    "type": "string",
                    "enum": sorts,
                    "description": "Order; a leading '-' means descending. Default '-created_at'.",
                },
                "page_size": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 500,
                    "description": "How many tasks to return at most; default 100.",
                },
            },
        },
    )


def _complete_task() -> ToolSpec:
    return ToolSpec(
        name="complete_task",
        description=(
            "Mark a task as done, or as not done again with completed=false. Returns the task."
        ),
        parameters={
            "type": "object",
            "properties": {
                "task_id": _task_id(),
                "completed": {
                    "type": "boolean",
                    "default": True,
                    "description": "true marks it done (the default); false reopens it.",
                },
            },
            "required": ["task_id"],
        },
    )


def _delete_task() -> ToolSpec:
    return ToolSpec(
        name="delete_task",
        description="Delete a task for good. Only when the user clearly asked to delete it.",
        parameters={
            "type": "object",
            "properties": {"task_id": _task_id()},
            "required": ["task_id"],
        },
    )


def _update_task() -> ToolSpec:
    return ToolSpec(
        name="update_task",
        description=(
            "Change fields of an existing task. Only the fields given change; the rest stay. "
            "Returns the task after the change."
        ),
        parameters={
            "type": "object",
            "properties": {
                "task_id": _task_id(),
                "title": _title("New title."),
                "description": _description("New notes; an empty string clears them."),
                "completed": {"type": "boolean", "description": "New completion state."},
                "priority": _priority("New urgency."),
                "due_time": _due_time("New due time."),
                "tags": _tags("New labels, replacing the old ones."),
            },
            "required": ["task_id"],
        },
    )


def task_tools() -> tuple[ToolSpec, ...]:
    """The tools declared to the model, in a stable order."""
    return (_add_task(), _list_tasks(), _complete_task(), _delete_task(), _update_task())
