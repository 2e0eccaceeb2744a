"""The tool declarations match the TaskService contract they are executed against."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.message import Message
from todochat.tasks.v1 import tasks_service_pb2 as pb

from services.chat.agent.tools import task_tools

REQUESTS: dict[str, type[Message]] = {
    "add_task": pb.AddTaskRequest,
    "list_tasks": pb.ListTasksRequest,
    "complete_task": pb.CompleteTaskRequest,
    "delete_task": pb.DeleteTaskRequest,
    "update_task": pb.UpdateTaskRequest,
}


def _spec(name: str) -> dict[str, Any]:
    return next(t.parameters for t in task_tools() if t.name == name)


def test_the_five_tools_in_a_stable_order_with_descriptions() -> None:
    tools = task_tools()

    assert [t.name for t in tools] == list(REQUESTS)
    assert all(len(t.description) > 20 for t in tools)
    assert tools == task_tools()


@pytest.mark.parametrize("name", list(REQUESTS))
def test_every_argument_is_a_field_of_the_request_and_never_the_user(name: str) -> None:
    schema = _spec(name)
    fields = set(REQUESTS[name].DESCRIPTOR.fields_by_name)

    assert schema["type"] == "object"
    assert set(schema["properties"]) <= fields - {"user_id", "request_id", "update_mask"}
    assert set(schema.get("required", ())) <= set(schema["properties"])


@pytest.mark.parametrize(
    ("name", "required"),
    [
        ("add_task", ["title"]),
        ("list_tasks", []),
        ("complete_task", ["task_id"]),
        ("delete_task", ["task_id"]),
        ("update_task", ["task_id"]),
    ],
)
def test_required_arguments(name: str, required: list[str]) -> None:
    assert _spec(name).get("required", []) == required


def test_value_rules_follow_the_proto_comments() -> None:
    add = _spec("add_task")["properties"]
    listing = _spec("list_tasks")["properties"]

    assert (add["title"]["minLength"], add["title"]["maxLength"]) == (1, 200)
    assert add["description"]["maxLength"] == 1000
    assert add["priority"]["enum"] == ["low", "medium", "high"]
    assert add["due_time"]["format"] == "date-time"
    assert add["tags"]["maxItems"] == 10
    assert add["tags"]["items"]["maxLength"] == 32
    assert listing["status"]["enum"] == ["all", "pending", "completed"]
    assert "-due_time" in listing["sort"]["enum"]
    assert (listing["page_size"]["minimum"], listing["page_size"]["maximum"]) == (1, 500)
    assert _spec("complete_task")["properties"]["completed"]["default"] is True
    assert set(_spec("update_task")["properties"]) == {
        "task_id", "title", "description", "completed", "priority", "due_time", "tags",
    }  # fmt: skip
