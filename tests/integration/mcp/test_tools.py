"""The task tools through the MCP SDK's client: the agent's declarations, each tool's
effect as TaskService sees it, users kept apart, bad arguments as tool errors."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolResult, TextContent
from todochat.tasks.v1 import resources_pb2
from todochat.tasks.v1 import tasks_service_pb2 as pb

from services.chat.agent.tools import task_tools
from tests.integration.mcp.conftest import McpEnv


def _text(result: CallToolResult) -> str:
    assert len(result.content) == 1 and isinstance(result.content[0], TextContent)
    return result.content[0].text


def _ok(result: CallToolResult) -> Any:
    assert not result.is_error, _text(result)
    return result.structured_content


async def _stored(env: McpEnv, user: str, task_id: str) -> resources_pb2.Task:
    reply = await env.stub.GetTask(pb.GetTaskRequest(task_id=task_id), metadata=env.md(user))
    return reply.task


async def _all_tasks(env: McpEnv, user: str) -> list[resources_pb2.Task]:
    reply = await env.stub.ListTasks(pb.ListTasksRequest(), metadata=env.md(user))
    return list(reply.tasks)


async def test_lists_the_agents_tools_with_their_schemas(env: McpEnv, user_id: str) -> None:
    async with env.client_for(user_id) as client:
        listed = (await client.list_tools()).tools
    assert [(t.name, t.description, t.input_schema) for t in listed] == [
        (spec.name, spec.description, spec.parameters) for spec in task_tools()
    ]
    hints = {t.name: t.annotations for t in listed}
    assert hints["list_tasks"] is not None and hints["list_tasks"].read_only_hint is True
    assert hints["delete_task"] is not None and hints["delete_task"].destructive_hint is True


async def test_each_tool_changes_what_task_service_holds(env: McpEnv, user_id: str) -> None:
    async with env.client_for(user_id) as client:
        added = await client.call_tool(
            "add_task",
            {
                "title": "Buy milk",
                "priority": "high",
                "due_time": "2026-03-14T17:00:00Z",
                "tags": ["errands"],
            },
        )
        task_id = _ok(added)["id"]
        stored = await _stored(env, user_id, task_id)
        assert (stored.title, stored.priority, list(stored.tags)) == (
            "Buy milk",
            resources_pb2.PRIORITY_HIGH,
            ["errands"],
        )
        assert stored.due_time.ToJsonString() == "2026-03-14T17:00:00Z"
        assert _ok(added)["user_id"] == user_id
        assert _text(added) == (
            f"Added: [ ] Buy milk (id {task_id}; high priority; due 2026-03-14T17:00:00Z; "
            "tags errands)"
        )

        listed = await client.call_tool("list_tasks", {"status": "pending"})
        assert [t["id"] for t in _ok(listed)["tasks"]] == [task_id]
        assert _text(listed).startswith("1 task:\n[ ] Buy milk (id ")

        updated = await client.call_tool(
            "update_task", {"task_id": task_id, "title": "Buy oat milk", "tags": []}
        )
        assert _ok(updated)["title"] == "Buy oat milk"
        stored = await _stored(env, user_id, task_id)
        assert (stored.title, list(stored.tags)) == ("Buy oat milk", [])

        completed = await client.call_tool("complete_task", {"task_id": task_id})
        assert _ok(completed)["completed"] is True
        assert (await _stored(env, user_id, task_id)).completed
        assert _text(completed).startswith("Completed: [x] Buy oat milk")
        assert _ok(await client.call_tool("list_tasks", {"status": "pending"})) == {"tasks": []}

        deleted = await client.call_tool("delete_task", {"task_id": task_id})
        assert _ok(deleted) == {"task_id": task_id, "deleted": True}
        assert _text(deleted) == f"Deleted task {task_id}."
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await _stored(env, user_id, task_id)
    assert gone.value.code() is grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        pytest.param("complete_task", {}, id="complete"),
        pytest.param("update_task", {"title": "mine now"}, id="update"),
        pytest.param("delete_task", {}, id="delete"),
    ],
)
async def test_another_users_task_stays_not_found(
    env: McpEnv, tool: str, arguments: dict[str, Any]
) -> None:
    owner, other = f"owner-{uuid.uuid4().hex[:8]}", f"other-{uuid.uuid4().hex[:8]}"
    added = await env.stub.AddTask(pb.AddTaskRequest(title="Private"), metadata=env.md(owner))
    task_id = added.task.id
    async with env.client_for(other) as client:
        result = await client.call_tool(tool, {"task_id": task_id, **arguments})
        listed = await client.call_tool("list_tasks", {})
    assert result.is_error
    assert result.structured_content is not None
    assert result.structured_content["error"]["code"] == "NOT_FOUND"
    assert _text(result).startswith("NOT_FOUND: ")
    assert _ok(listed) == {"tasks": []}
    stored = await _stored(env, owner, task_id)
    assert (stored.title, stored.completed) == ("Private", False)


# One protocol era is enough here: argument errors take the same path in both.
@pytest.mark.parametrize("mode", ["legacy"])
@pytest.mark.parametrize(
    ("tool", "arguments", "says"),
    [
        pytest.param("add_task", {}, "title is required", id="missing-title"),
        pytest.param("add_task", {"title": "x" * 201}, "at most 200", id="title-too-long"),
        pytest.param("add_task", {"title": 42}, "must be a string", id="title-not-text"),
        pytest.param(
            "add_task", {"title": "x", "due_time": "tomorrow"}, "RFC 3339", id="due-not-a-time"
        ),
        pytest.param(
            "add_task",
            {"title": "x", "tags": ["not a tag!"]},
            "tags",
            id="tag-task-service-refuses",
        ),
        pytest.param("list_tasks", {"sort": "size"}, "sort must be one of", id="unknown-sort"),
        pytest.param("list_tasks", {"page_size": 0}, "page_size", id="page-size-zero"),
        pytest.param("complete_task", {"task_id": "not-a-uuid"}, "task_id", id="bad-task-id"),
        pytest.param(
            "update_task",
            {"task_id": str(uuid.uuid4()), "priority": "urgent"},
            "priority must be one of",
            id="unknown-priority",
        ),
    ],
)
async def test_bad_arguments_come_back_as_tool_errors(
    env: McpEnv, user_id: str, tool: str, arguments: dict[str, Any], says: str
) -> None:
    async with env.client_for(user_id) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert result.structured_content is not None
    assert result.structured_content["error"]["code"] == "INVALID_ARGUMENT"
    assert says in result.structured_content["error"]["message"]
    assert _text(result).startswith("INVALID_ARGUMENT: ")
    assert await _all_tasks(env, user_id) == []


async def test_an_unknown_tool_is_a_protocol_error(env: McpEnv, user_id: str) -> None:
    async with env.client_for(user_id) as client:
        with pytest.raises(MCPError) as refused:
            await client.call_tool("drop_all_tasks", {})
    assert refused.value.code == INVALID_PARAMS
    assert "add_task" in refused.value.message
