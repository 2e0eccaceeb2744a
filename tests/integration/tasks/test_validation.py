"""Bad input → INVALID_ARGUMENT with a BadRequest naming the field; nothing written."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from todochat.tasks.v1 import tasks_service_pb2 as pb
from todochat.tasks.v1.tasks_service_pb2_grpc import TaskServiceStub

Auth = Callable[[str], tuple[tuple[str, str], ...]]
VALID_ID = "0b6f5a4e-3c2d-4e1f-9a8b-7c6d5e4f3a2b"

BAD_REQUESTS = [
    pytest.param("AddTask", pb.AddTaskRequest(title=""), "title", id="empty-title"),
    pytest.param("AddTask", pb.AddTaskRequest(title="   "), "title", id="blank-title"),
    pytest.param("AddTask", pb.AddTaskRequest(title="x" * 201), "title", id="long-title"),
    pytest.param("AddTask", pb.AddTaskRequest(title="a\x00b"), "title", id="nul-title"),
    pytest.param(
        "AddTask",
        pb.AddTaskRequest(title="ok", description="d" * 1001),
        "description",
        id="long-description",
    ),
    pytest.param(
        "AddTask", pb.AddTaskRequest(title="ok", priority=42), "priority", id="unknown-priority"
    ),  # type: ignore[arg-type]
    pytest.param(
        "AddTask", pb.AddTaskRequest(title="ok", tags=["has space"]), "tags[0]", id="bad-tag"
    ),
    pytest.param(
        "AddTask", pb.AddTaskRequest(title="ok", tags=["x" * 33]), "tags[0]", id="long-tag"
    ),
    pytest.param(
        "AddTask",
        pb.AddTaskRequest(title="ok", tags=[f"t{i}" for i in range(11)]),
        "tags",
        id="too-many-tags",
    ),
    pytest.param(
        "AddTask",
        pb.AddTaskRequest(title="ok", due_time=timestamp_pb2.Timestamp(seconds=-10)),
        "due_time",
        id="due-before-1970",
    ),
    pytest.param(
        "AddTask",
        pb.AddTaskRequest(title="ok", request_id="x" * 129),
        "request_id",
        id="long-request-id",
    ),
    pytest.param(
        "AddTask",
        pb.AddTaskRequest(title="ok", request_id="has space"),
        "request_id",
        id="bad-request-id",
    ),
    pytest.param(
        "GetTask", pb.GetTaskRequest(task_id="not-a-uuid"), "task_id", id="get-malformed-id"
    ),
    pytest.param("GetTask", pb.GetTaskRequest(task_id=""), "task_id", id="get-missing-id"),
    pytest.param(
        "UpdateTask",
        pb.UpdateTaskRequest(task_id="42", title="x"),
        "task_id",
        id="update-malformed-id",
    ),
    pytest.param(
        "UpdateTask",
        pb.UpdateTaskRequest(task_id=VALID_ID, title=""),
        "title",
        id="update-empty-title",
    ),
    pytest.param(
        "UpdateTask",
        pb.UpdateTaskRequest(task_id=VALID_ID, description="d" * 1001),
        "description",
        id="update-long-description",
    ),
    pytest.param(
        "UpdateTask",
        pb.UpdateTaskRequest(task_id=VALID_ID, priority=7),
        "priority",
        id="update-unknown-priority",
    ),  # type: ignore[arg-type]
    pytest.param(
        "UpdateTask",
        pb.UpdateTaskRequest(
            task_id=VALID_ID, update_mask=field_mask_pb2.FieldMask(paths=["user_id"])
        ),
        "update_mask",
        id="update-mask-unknown-path",
    ),
    pytest.param(
        "CompleteTask", pb.CompleteTaskRequest(task_id="abc"), "task_id", id="complete-malformed-id"
    ),
    pytest.param(
        "DeleteTask", pb.DeleteTaskRequest(task_id="abc"), "task_id", id="delete-malformed-id"
    ),
    pytest.param(
        "ListTasks", pb.ListTasksRequest(status="done-ish"), "status", id="list-bad-status"
    ),
    pytest.param("ListTasks", pb.ListTasksRequest(sort="colour"), "sort", id="list-bad-sort"),
    pytest.param(
        "ListTasks", pb.ListTasksRequest(page_size=-1), "page_size", id="list-negative-page-size"
    ),
    pytest.param(
        "ListTasks", pb.ListTasksRequest(page_size=501), "page_size", id="list-huge-page-size"
    ),
    pytest.param(
        "ListTasks", pb.ListTasksRequest(search="s" * 201), "search", id="list-long-search"
    ),
    pytest.param(
        "ListTasks",
        pb.ListTasksRequest(page_token="%%%garbage"),
        "page_token",
        id="list-garbage-token",
    ),
    pytest.param(
        "ListTasks",
        pb.ListTasksRequest(page_token="eyJ2IjoxLCJvIjotNSwiZiI6IngifQ"),
        "page_token",
        id="list-negative-offset-token",
    ),
    pytest.param("ListTasks", pb.ListTasksRequest(tag="a b"), "tag", id="list-bad-tag"),
]


@pytest.mark.parametrize(("method", "request_message", "field"), BAD_REQUESTS)
async def test_bad_input_is_invalid_argument_naming_the_field(
    tasks_stub: TaskServiceStub,
    auth: Auth,
    user_id: str,
    method: str,
    request_message: object,
    field: str,
) -> None:
    md = auth(user_id)
    seed = (await tasks_stub.AddTask(pb.AddTaskRequest(title="seed"), metadata=md)).task
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(tasks_stub, method)(request_message, metadata=md)
    error = caught.value
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(error)
    assert status is not None
    violations = []
    reasons = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations += [v.field for v in bad.field_violations]
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reasons.append(info.reason)
    assert field in violations
    assert reasons == ["INVALID_ARGUMENT"], "exactly one ErrorInfo (AIP-193)"
    listed = await tasks_stub.ListTasks(pb.ListTasksRequest(), metadata=md)
    assert [t.id for t in listed.tasks] == [seed.id]
    assert listed.tasks[0] == seed, "nothing written"


async def test_all_bad_fields_are_reported_at_once(
    tasks_stub: TaskServiceStub, auth: Auth, user_id: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await tasks_stub.AddTask(
            pb.AddTaskRequest(title="", description="d" * 1001, priority=9),
            metadata=auth(user_id),  # type: ignore[arg-type]
        )
    status = rpc_status.from_call(caught.value)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    next(d for d in status.details if d.Is(bad.DESCRIPTOR)).Unpack(bad)
    assert {v.field for v in bad.field_violations} == {"title", "description", "priority"}
