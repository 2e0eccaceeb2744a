"""TaskService as ChatService calls it: one channel, the caller's own token, JSON results.

One grpc.aio channel per process, balanced per call (`round_robin`) over every address
the target resolves to (a headless Service in Kubernetes), with gRPC's own retries on
UNAVAILABLE. Every method is safe to resend: reads are reads, and each mutating request
carries an idempotency key. Each call carries the caller's bearer token, so TaskService
decides whose tasks are touched, and the turn's remaining time as its deadline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from todochat.tasks.v1 import resources_pb2, tasks_service_pb2_grpc
from todochat.tasks.v1 import tasks_service_pb2 as pb

from services.chat.domain import Deadline
from services.servicekit.errors import (
    DeadlineExceeded,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from services.servicekit.tracing import Tracing

SERVICE = pb.DESCRIPTOR.services_by_name["TaskService"].full_name
# Task errors the model can explain to the user; anything else fails the turn.
MODEL_VISIBLE_CODES = frozenset(
    {
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.OUT_OF_RANGE,
    }
)
_OPTIONAL_TASK_FIELDS = ("description", "due_time", "completed_at")


def service_config(max_attempts: int = 3) -> str:
    """The channel's service config: per-call balancing and retries on UNAVAILABLE."""
    return json.dumps(
        {
            "loadBalancingConfig": [{"round_robin": {}}],
            "methodConfig": [
                {
                    "name": [{"service": SERVICE}],
                    "retryPolicy": {
                        "maxAttempts": max_attempts,
                        "initialBackoff": "0.05s",
                        "maxBackoff": "0.5s",
                        "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE"],
                    },
                }
            ],
        }
    )


@dataclass(frozen=True)
class Caller:
    """Who a call is made for, and by when it must be done."""

    token: str
    trace_id: str  # forwarded as x-request-id, so both services' logs line up
    deadline: Deadline


class TaskCallError(Exception):
    """TaskService refused the call for a reason the model should hear about."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def as_result(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def task_to_json(task: resources_pb2.Task) -> dict[str, Any]:
    data = _to_json(task)
    for name in _OPTIONAL_TASK_FIELDS:
        data.setdefault(name, None)
    return data


def _to_json(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


class TasksClient:
    """Typed calls to TaskService; results are JSON-compatible dicts with proto field names."""

    def __init__(
        self, target: str, *, tracing: Tracing | None = None, max_attempts: int = 3
    ) -> None:
        self._tracing = tracing or Tracing.disabled()
        self._channel = grpc.aio.insecure_channel(
            target,
            options=[
                ("grpc.service_config", service_config(max_attempts)),
                ("grpc.enable_retries", 1),
                ("grpc.keepalive_time_ms", 60_000),
                ("grpc.keepalive_timeout_ms", 20_000),
            ],
        )
        self._stub = tasks_service_pb2_grpc.TaskServiceStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    async def list_tasks(
        self, caller: Caller, request: pb.ListTasksRequest
    ) -> list[dict[str, Any]]:
        response: pb.ListTasksResponse = await self._call(self._stub.ListTasks, caller, request)
        return [task_to_json(t) for t in response.tasks]

    async def add_task(self, caller: Caller, request: pb.AddTaskRequest) -> dict[str, Any]:
        response: pb.AddTaskResponse = await self._call(self._stub.AddTask, caller, request)
        return task_to_json(response.task)

    async def update_task(self, caller: Caller, request: pb.UpdateTaskRequest) -> dict[str, Any]:
        response: pb.UpdateTaskResponse = await self._call(self._stub.UpdateTask, caller, request)
        return task_to_json(response.task)

    async def complete_task(
        self, caller: Caller, request: pb.CompleteTaskRequest
    ) -> dict[str, Any]:
        response: pb.CompleteTaskResponse = await self._call(
            self._stub.CompleteTask, caller, request
        )
        return task_to_json(response.task)

    async def delete_task(self, caller: Caller, request: pb.DeleteTaskRequest) -> dict[str, Any]:
        await self._call(self._stub.DeleteTask, caller, request)
        return {"task_id": request.task_id, "deleted": True}

    async def _call(self, method: Any, caller: Caller, request: Message) -> Any:
        remaining = caller.deadline.remaining()
        if remaining <= 0:
            raise _turn_out_of_time()
        metadata = (
            ("authorization", f"Bearer {caller.token}"),
            ("x-request-id", caller.trace_id),
            *self._tracing.outgoing_metadata(),  # one trace across both services
        )
        try:
            return await method(request, metadata=metadata, timeout=remaining)
        except grpc.aio.AioRpcError as exc:
            raise _translate(exc) from exc


def _turn_out_of_time() -> DeadlineExceeded:
    return DeadlineExceeded("the turn ran out of time", reason="TURN_DEADLINE_EXCEEDED")


def _translate(exc: grpc.aio.AioRpcError) -> Exception:
    code = exc.code()
    message = exc.details() or code.name
    if code in MODEL_VISIBLE_CODES:
        return TaskCallError(code.name, message)
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return DeadlineExceeded(
            "the task service did not answer in time", reason="TASKS_DEADLINE_EXCEEDED"
        )
    if code is grpc.StatusCode.UNAUTHENTICATED:
        # Our token was accepted a moment ago, so it expired during the turn.
        return Unauthenticated("the token expired during the turn", reason="TOKEN_EXPIRED")
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        return ResourceExhausted(
            "the task service is busy; try again shortly",
            retry_after_seconds=1,
            reason="TASKS_RESOURCE_EXHAUSTED",
        )
    return Unavailable(
        "the task service is unavailable; try again shortly",
        retry_after_seconds=1,
        reason="TASKS_UNAVAILABLE",
        metadata={"code": code.name},
    )
