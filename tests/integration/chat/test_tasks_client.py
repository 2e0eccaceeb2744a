"""The TaskService client over a real channel: balancing, retries, metadata, deadlines.

A stand-in TaskService (a real grpc.aio server) records what arrives and fails on cue,
which the real one cannot be made to do.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from grpc import aio
from todochat.tasks.v1 import resources_pb2, tasks_service_pb2_grpc
from todochat.tasks.v1 import tasks_service_pb2 as pb

from services.chat.domain import Deadline
from services.chat.tasks_client import Caller, TaskCallError, TasksClient
from services.servicekit.errors import DeadlineExceeded, Unavailable


@dataclass
class Seen:
    method: str
    request_id: str
    metadata: dict[str, str]
    time_remaining: float | None


@dataclass
class StandIn(tasks_service_pb2_grpc.TaskServiceServicer):
    name: str
    fail_first: int = 0
    fail_with: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE
    seen: list[Seen] = field(default_factory=list)

    async def _record(
        self, method: str, request: Any, context: aio.ServicerContext[Any, Any]
    ) -> None:
        self.seen.append(
            Seen(
                method,
                getattr(request, "request_id", ""),
                {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)},
                context.time_remaining(),
            )
        )
        if len(self.seen) <= self.fail_first:
            await context.abort(self.fail_with, f"{self.name} says no")

    async def AddTask(self, request: pb.AddTaskRequest, context: Any) -> pb.AddTaskResponse:
        await self._record("AddTask", request, context)
        return pb.AddTaskResponse(task=resources_pb2.Task(id="t1", title=request.title))

    async def ListTasks(self, request: pb.ListTasksRequest, context: Any) -> pb.ListTasksResponse:
        await self._record("ListTasks", request, context)
        return pb.ListTasksResponse(tasks=[resources_pb2.Task(id=self.name, title=self.name)])


@dataclass
class Servers:
    stand_ins: list[StandIn]
    ports: list[int]

    @property
    def target(self) -> str:
        return "ipv4:" + ",".join(f"127.0.0.1:{p}" for p in self.ports)


@pytest.fixture
async def servers(request: pytest.FixtureRequest) -> AsyncIterator[Servers]:
    stand_ins: list[StandIn] = request.param
    started = []
    ports = []
    for stand_in in stand_ins:
        server = aio.server()
        tasks_service_pb2_grpc.add_TaskServiceServicer_to_server(stand_in, server)
        ports.append(server.add_insecure_port("127.0.0.1:0"))
        await server.start()
        started.append(server)
    yield Servers(stand_ins, ports)
    for server in started:
        await server.stop(0)


def _caller(seconds: float = 5.0) -> Caller:
    return Caller(token="tok-123", trace_id="trace-9", deadline=Deadline.within(seconds))


@pytest.mark.parametrize("servers", [[StandIn("a"), StandIn("b")]], indirect=True)
async def test_calls_are_balanced_per_call_over_every_address(servers: Servers) -> None:
    client = TasksClient(servers.target)
    try:
        answered = [
            (await client.list_tasks(_caller(), pb.ListTasksRequest()))[0]["id"] for _ in range(20)
        ]
    finally:
        await client.close()
    # round_robin only picks connected backends, so the first calls may all go to one.
    assert answered.count("a") >= 5 and answered.count("b") >= 5, answered


@pytest.mark.parametrize("servers", [[StandIn("a", fail_first=2)]], indirect=True)
async def test_unavailable_is_retried_with_the_same_idempotency_key(servers: Servers) -> None:
    client = TasksClient(servers.target)
    try:
        task = await client.add_task(_caller(), pb.AddTaskRequest(title="x", request_id="k-1"))
    finally:
        await client.close()
    assert task["title"] == "x"
    assert task["description"] is None and task["completed"] is False
    seen = servers.stand_ins[0].seen
    assert [s.request_id for s in seen] == ["k-1"] * 3, "two failures, then the answer"
    for s in seen:
        assert s.metadata["authorization"] == "Bearer tok-123", "the caller's own token"
        assert s.metadata["x-request-id"] == "trace-9"
        assert s.time_remaining is not None and 3.0 < s.time_remaining <= 5.1


@pytest.mark.parametrize("servers", [[StandIn("a", fail_first=10)]], indirect=True)
async def test_a_backend_that_stays_down_is_unavailable(servers: Servers) -> None:
    client = TasksClient(servers.target)
    try:
        with pytest.raises(Unavailable):
            await client.list_tasks(_caller(), pb.ListTasksRequest())
    finally:
        await client.close()
    assert len(servers.stand_ins[0].seen) == 3, "the retry budget is small"


@pytest.mark.parametrize(
    "servers",
    [[StandIn("a", fail_first=10, fail_with=grpc.StatusCode.NOT_FOUND)]],
    indirect=True,
)
async def test_task_errors_are_for_the_model_and_not_retried(servers: Servers) -> None:
    client = TasksClient(servers.target)
    try:
        with pytest.raises(TaskCallError) as caught:
            await client.add_task(_caller(), pb.AddTaskRequest(title="x", request_id="k"))
    finally:
        await client.close()
    assert caught.value.as_result() == {"code": "NOT_FOUND", "message": "a says no"}
    assert len(servers.stand_ins[0].seen) == 1


@pytest.mark.parametrize("servers", [[StandIn("a")]], indirect=True)
async def test_no_call_once_the_turn_is_out_of_time(servers: Servers) -> None:
    client = TasksClient(servers.target)
    try:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            await client.list_tasks(_caller(-1), pb.ListTasksRequest())
    finally:
        await client.close()
    assert time.monotonic() - started < 0.5
    assert servers.stand_ins[0].seen == []
