"""Runs one tool call as a TaskService RPC, for the caller, and reports the outcome.

The caller (and so the user) is fixed when the executor is made for a turn; nothing in
the model's arguments can change it. Mutating calls carry an idempotency key derived
from the turn's request id, the call's place in the turn and the call itself, so a
retried turn that makes the same call again gets TaskService's first answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from google.protobuf import field_mask_pb2, timestamp_pb2
from todochat.tasks.v1 import resources_pb2
from todochat.tasks.v1 import tasks_service_pb2 as pb

from services.chat.agent.arguments import ToolArgumentError, check_arguments
from services.chat.llm.base import ToolCallRequest, ToolOutcome, ToolSpec
from services.chat.tasks_client import Caller, TaskCallError, TasksClient
from services.servicekit.fingerprint import fingerprint

_PRIORITIES = {
    "low": resources_pb2.PRIORITY_LOW,
    "medium": resources_pb2.PRIORITY_MEDIUM,
    "high": resources_pb2.PRIORITY_HIGH,
}
# update_task fields that a null clears; the others are simply left alone when null.
_CLEARABLE = frozenset({"description", "due_time", "tags"})
_Handler = Callable[[dict[str, Any], str], Awaitable[Any]]


def idempotency_key(turn_request_id: str, step: int, index: int, call: ToolCallRequest) -> str:
    return f"chat-{fingerprint(turn_request_id, step, index, call.name, call.arguments)}"


def _error(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _timestamp(value: str) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    try:
        stamp.FromJsonString(value)
    except ValueError as exc:
        raise ToolArgumentError(
            f"due_time {value!r} is not an RFC 3339 time such as 2026-03-14T17:00:00Z"
        ) from exc
    return stamp


class ToolExecutor:
    def __init__(
        self,
        client: TasksClient,
        tools: Sequence[ToolSpec],
        caller: Caller,
        turn_request_id: str,
    ) -> None:
        self._client = client
        self._specs = {spec.name: spec for spec in tools}
        self._caller = caller
        self._turn_request_id = turn_request_id
        self._handlers: Mapping[str, _Handler] = {
            "add_task": self._add_task,
            "list_tasks": self._list_tasks,
            "complete_task": self._complete_task,
            "delete_task": self._delete_task,
            "update_task": self._update_task,
        }

    async def run(self, call: ToolCallRequest, step: int, index: int) -> ToolOutcome:
        """The outcome of `call`. Task errors come back as ok=False results; TaskService
        being down or out of time raises (the turn fails)."""
        spec = self._specs.get(call.name)
        handler = self._handlers.get(call.name)
        if spec is None or handler is None:
            known = ", ".join(sorted(self._specs))
            return ToolOutcome(
                call, _error("INVALID_ARGUMENT", f"unknown tool {call.name!r}; use {known}"), False
            )
        try:
            arguments = check_arguments(spec, call.arguments)
            key = idempotency_key(self._turn_request_id, step, index, call)
            return ToolOutcome(call, await handler(arguments, key), True)
        except ToolArgumentError as exc:
            return ToolOutcome(call, _error("INVALID_ARGUMENT", str(exc)), False)
        except TaskCallError as exc:
            return ToolOutcome(call, exc.as_result(), False)

    async def _add_task(self, args: dict[str, Any], key: str) -> Any:
        request = pb.AddTaskRequest(title=args["title"], request_id=key)
        if args.get("description") is not None:
            request.description = args["description"]
        if args.get("priority") is not None:
            request.priority = _PRIORITIES[args["priority"]]
        if args.get("due_time") is not None:
            request.due_time.CopyFrom(_timestamp(args["due_time"]))
        request.tags.extend(args.get("tags") or ())
        return await self._client.add_task(self._caller, request)

    async def _list_tasks(self, args: dict[str, Any], key: str) -> Any:
        request = pb.ListTasksRequest(
            status=args.get("status") or "",
            search=args.get("search") or "",
            tag=args.get("tag") or "",
            sort=args.get("sort") or "",
            page_size=args.get("page_size") or 0,
        )
        return await self._client.list_tasks(self._caller, request)

    async def _complete_task(self, args: dict[str, Any], key: str) -> Any:
        # Always an explicit state: a toggle would flip twice if the call were resent.
        completed = args.get("completed")
        request = pb.CompleteTaskRequest(
            task_id=args["task_id"],
            completed=True if completed is None else completed,
            request_id=key,
        )
        return await self._client.complete_task(self._caller, request)

    async def _delete_task(self, args: dict[str, Any], key: str) -> Any:
        request = pb.DeleteTaskRequest(task_id=args["task_id"], request_id=key)
        return await self._client.delete_task(self._caller, request)

    async def _update_task(self, args: dict[str, Any], key: str) -> Any:
        request = pb.UpdateTaskRequest(task_id=args["task_id"], request_id=key)
        paths: list[str] = []
        for name, value in args.items():
            if name == "task_id" or (value is None and name not in _CLEARABLE):
                continue
            paths.append(name)
            if value is None:
                continue
            if name == "priority":
                request.priority = _PRIORITIES[value]
            elif name == "due_time":
                request.due_time.CopyFrom(_timestamp(value))
            elif name == "tags":
                request.tags.extend(value)
            else:
                setattr(request, name, value)
        # An explicit mask: only what the model named changes, and tags can be emptied.
        request.update_mask.CopyFrom(field_mask_pb2.FieldMask(paths=sorted(paths)))
        return await self._client.update_task(self._caller, request)
