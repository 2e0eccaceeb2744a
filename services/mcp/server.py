"""The MCP server: the five task tools TodoBot uses, for any MCP client.

The declarations are `task_tools()` verbatim, and every call runs through the agent's
own `ToolExecutor`, so an MCP client and TodoBot get the same argument checks, the
same TaskService requests and the same results. The caller is whoever the request's
bearer token names: the HTTP edge has verified it before any of this runs, and
TaskService verifies it again; nothing in a tool's arguments can name another user.

Built on the SDK's low-level `Server` rather than `MCPServer`, which derives a tool's
input schema from a Python signature: here the schemas are the agent's, unchanged.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from google.rpc import code_pb2
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    ListToolsResult,
    PaginatedRequestParams,
    Tool,
    ToolAnnotations,
)

from services.chat.agent.executor import ToolExecutor
from services.chat.agent.tools import task_tools
from services.chat.domain import Deadline
from services.chat.llm.base import ToolCallRequest, ToolSpec
from services.chat.tasks_client import Caller, TasksClient
from services.mcp import render
from services.servicekit.auth import bearer_from_metadata
from services.servicekit.errors import DomainError
from services.servicekit.status import code_for

SERVER_NAME = "todochat-tasks"
_log = logging.getLogger("todochat.mcp")

# Hints for clients deciding what to confirm with their user; TaskService decides the rest.
_ANNOTATIONS = {
    "add_task": ToolAnnotations(
        title="Add a task", read_only_hint=False, destructive_hint=False, open_world_hint=False
    ),
    "list_tasks": ToolAnnotations(title="List tasks", read_only_hint=True, open_world_hint=False),
    "complete_task": ToolAnnotations(
        title="Complete or reopen a task",
        read_only_hint=False,
        destructive_hint=False,
        idempotent_hint=True,  # an explicit state, never a toggle
        open_world_hint=False,
    ),
    "delete_task": ToolAnnotations(
        title="Delete a task",
        read_only_hint=False,
        destructive_hint=True,
        idempotent_hint=True,
        open_world_hint=False,
    ),
    "update_task": ToolAnnotations(
        title="Change a task",
        read_only_hint=False,
        destructive_hint=True,  # it overwrites fields
        idempotent_hint=True,
        open_world_hint=False,
    ),
}


def declaration(spec: ToolSpec) -> Tool:
    return Tool(
        name=spec.name,
        description=spec.description,
        input_schema=spec.parameters,
        annotations=_ANNOTATIONS.get(spec.name),
    )


class TaskTools:
    """The `tools/list` and `tools/call` handlers, over one TaskService client."""

    def __init__(self, tasks: TasksClient, timeout_seconds: float) -> None:
        self._tasks = tasks
        self._specs = task_tools()
        self._names = frozenset(spec.name for spec in self._specs)
        self._timeout = timeout_seconds

    async def list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        return ListToolsResult(tools=[declaration(spec) for spec in self._specs])

    async def call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: CallToolRequestParams
    ) -> CallToolResult:
        if params.name not in self._names:
            # A protocol error, as MCP asks for an unknown tool; bad arguments are tool errors.
            raise MCPError(
                INVALID_PARAMS,
                f"unknown tool {params.name!r}; use {', '.join(sorted(self._names))}",
            )
        started = time.monotonic()
        result = await self._run(ctx, params)
        _log.info(
            "mcp tool call",
            extra={
                "tool": params.name,
                "ok": not result.is_error,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        return result

    async def _run(
        self, ctx: ServerRequestContext[Any, Any], params: CallToolRequestParams
    ) -> CallToolResult:
        try:
            caller = self._caller(ctx)
            # Each MCP call stands alone: its own idempotency key, none shared with a retry.
            executor = ToolExecutor(self._tasks, self._specs, caller, f"mcp-{uuid.uuid4().hex}")
            call = ToolCallRequest(
                id=str(ctx.request_id), name=params.name, arguments=params.arguments or {}
            )
            outcome = await executor.run(call, 0, 0)
        except DomainError as exc:
            # TaskService down, out of time, or the token expired since the edge checked it.
            return render.failure(code_pb2.Code.Name(code_for(exc)), exc.message)
        if not outcome.ok:
            return render.failure(outcome.result["code"], outcome.result["message"])
        return render.success(params.name, outcome.result)

    def _caller(self, ctx: ServerRequestContext[Any, Any]) -> Caller:
        headers = ctx.request.headers if ctx.request is not None else {}
        token = bearer_from_metadata(list(headers.items()))
        trace_id = headers.get("x-request-id") or uuid.uuid4().hex
        return Caller(token=token, trace_id=trace_id, deadline=Deadline.within(self._timeout))


def build_server(tasks: TasksClient, timeout_seconds: float, version: str = "") -> Server[Any]:
    tools = TaskTools(tasks, timeout_seconds)
    return Server(
        SERVER_NAME,
        version=version,
        title="todochat tasks",
        instructions=(
            "Tools for the user's todochat tasks. Find a task's id with list_tasks before "
            "changing or deleting a task named by its title."
        ),
        on_list_tools=tools.list_tools,
        on_call_tool=tools.call_tool,
    )
