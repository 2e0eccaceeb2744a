"""Isolation: another user's task is NOT_FOUND on every RPC and stays unchanged;
a path user_id that is not the caller's is PERMISSION_DENIED."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from todochat.tasks.v1 import tasks_service_pb2 as pb
from todochat.tasks.v1.tasks_service_pb2_grpc import TaskServiceStub

Auth = Callable[[str], tuple[tuple[str, str], ...]]

ON_ANOTHER_USERS_TASK = [
    pytest.param("GetTask", lambda tid: pb.GetTaskRequest(task_id=tid), id="get"),
    pytest.param(
        "UpdateTask", lambda tid: pb.UpdateTaskRequest(task_id=tid, title="pwned"), id="update"
    ),
    pytest.param(
        "UpdateTask",
        lambda tid: pb.UpdateTaskRequest(task_id=tid, completed=True),
        id="update-completed",
    ),
    pytest.param(
        "CompleteTask", lambda tid: pb.CompleteTaskRequest(task_id=tid), id="complete-toggle"
    ),
    pytest.param(
        "CompleteTask",
        lambda tid: pb.CompleteTaskRequest(task_id=tid, completed=True),
        id="complete-set",
    ),
    pytest.param("DeleteTask", lambda tid: pb.DeleteTaskRequest(task_id=tid), id="delete"),
    pytest.param(
        "DeleteTask",
        lambda tid: pb.DeleteTaskRequest(task_id=tid, request_id="r"),
        id="delete-idempotent",
    ),
]


@pytest.mark.parametrize(("method", "make"), ON_ANOTHER_USERS_TASK)
async def test_other_users_task_is_not_found_and_unchanged(
    tasks_stub: TaskServiceStub,
    auth: Auth,
    user_id: str,
    method: str,
    make: Callable[[str], object],
) -> None:
    owner, intruder = user_id, user_id + "-b"
    task = (await tasks_stub.AddTask(pb.AddTaskRequest(title="private"), metadata=auth(owner))).task
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(tasks_stub, method)(make(task.id), metadata=auth(intruder))
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND
    after = (
        await tasks_stub.GetTask(pb.GetTaskRequest(task_id=task.id), metadata=auth(owner))
    ).task
    assert after == task


async def test_list_shows_only_own_tasks(
    tasks_stub: TaskServiceStub, auth: Auth, user_id: str
) -> None:
    await tasks_stub.AddTask(pb.AddTaskRequest(title="a's"), metadata=auth(user_id))
    listed = await tasks_stub.ListTasks(
        pb.ListTasksRequest(search="a's"), metadata=auth(user_id + "-b")
    )
    assert list(listed.tasks) == [] and listed.total_size == 0


@pytest.mark.parametrize(
    ("method", "make"),
    [
        pytest.param("ListTasks", lambda u, tid: pb.ListTasksRequest(user_id=u), id="list"),
        pytest.param("AddTask", lambda u, tid: pb.AddTaskRequest(user_id=u, title="x"), id="add"),
        pytest.param("GetTask", lambda u, tid: pb.GetTaskRequest(user_id=u, task_id=tid), id="get"),
        pytest.param(
            "UpdateTask",
            lambda u, tid: pb.UpdateTaskRequest(user_id=u, task_id=tid, title="y"),
            id="update",
        ),
        pytest.param(
            "CompleteTask",
            lambda u, tid: pb.CompleteTaskRequest(user_id=u, task_id=tid),
            id="complete",
        ),
        pytest.param(
            "DeleteTask", lambda u, tid: pb.DeleteTaskRequest(user_id=u, task_id=tid), id="delete"
        ),
    ],
)
async def test_path_user_mismatch_is_permission_denied(
    tasks_stub: TaskServiceStub,
    auth: Auth,
    user_id: str,
    method: str,
    make: Callable[[str, str], object],
) -> None:
    victim = user_id + "-victim"
    task = (await tasks_stub.AddTask(pb.AddTaskRequest(title="keep"), metadata=auth(victim))).task
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(tasks_stub, method)(make(victim, task.id), metadata=auth(user_id))
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    after = (
        await tasks_stub.GetTask(pb.GetTaskRequest(task_id=task.id), metadata=auth(victim))
    ).task
    assert after == task
    mine = await tasks_stub.ListTasks(pb.ListTasksRequest(), metadata=auth(user_id))
    assert list(mine.tasks) == [], "nothing was written for the caller either"
