"""Every TaskService RPC through a real gRPC channel to a real server on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2
from todochat.tasks.v1 import resources_pb2
from todochat.tasks.v1 import tasks_service_pb2 as pb
from todochat.tasks.v1.tasks_service_pb2_grpc import TaskServiceStub

Auth = Callable[[str], tuple[tuple[str, str], ...]]


async def _add(
    stub: TaskServiceStub, md: tuple[tuple[str, str], ...], title: str, **kw: object
) -> resources_pb2.Task:
    return (await stub.AddTask(pb.AddTaskRequest(title=title, **kw), metadata=md)).task  # type: ignore[arg-type]


async def test_add_get_update_complete_delete(
    tasks_stub: TaskServiceStub, auth: Auth, user_id: str
) -> None:
    md = auth(user_id)
    due = timestamp_pb2.Timestamp(seconds=1_900_000_000)
    task = await _add(
        tasks_stub,
        md,
        "  buy milk  ",
        description="2 litres",
        priority=resources_pb2.PRIORITY_HIGH,
        due_time=due,
        tags=["Home", "errands", "home"],
    )
    assert task.title == "buy milk"
    assert task.user_id == user_id
    assert task.description == "2 litres"
    assert task.priority == resources_pb2.PRIORITY_HIGH
    assert task.due_time == due
    assert list(task.tags) == ["errands", "home"]
    assert not task.completed and not task.HasField("completed_at")

    got = (
        await tasks_stub.GetTask(pb.GetTaskRequest(task_id=task.id, user_id=user_id), metadata=md)
    ).task
    assert got == task

    updated = (
        await tasks_stub.UpdateTask(
            pb.UpdateTaskRequest(task_id=task.id, title="buy oat milk", completed=True), metadata=md
        )
    ).task
    assert (
        updated.title == "buy oat milk" and updated.completed and updated.HasField("completed_at")
    )
    assert updated.description == "2 litres", "fields not sent must not change"
    assert updated.updated_at.ToDatetime() >= task.updated_at.ToDatetime()

    toggled = (
        await tasks_stub.CompleteTask(pb.CompleteTaskRequest(task_id=task.id), metadata=md)
    ).task
    assert not toggled.completed and not toggled.HasField("completed_at")
    toggled = (
        await tasks_stub.CompleteTask(pb.CompleteTaskRequest(task_id=task.id), metadata=md)
    ).task
    assert toggled.completed
    set_true = (
        await tasks_stub.CompleteTask(
            pb.CompleteTaskRequest(task_id=task.id, completed=True), metadata=md
        )
    ).task
    assert set_true.completed and set_true.completed_at == toggled.completed_at

    await tasks_stub.DeleteTask(pb.DeleteTaskRequest(task_id=task.id), metadata=md)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await tasks_stub.GetTask(pb.GetTaskRequest(task_id=task.id), metadata=md)
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


async def test_update_mask_clears_fields(
    tasks_stub: TaskServiceStub, auth: Auth, user_id: str
) -> None:
    md = auth(user_id)
    task = await _add(
        tasks_stub,
        md,
        "t",
        description="d",
        due_time=timestamp_pb2.Timestamp(seconds=1_900_000_000),
        tags=["a"],
        priority=resources_pb2.PRIORITY_LOW,
    )
    cleared = (
        await tasks_stub.UpdateTask(
            pb.UpdateTaskRequest(
                task_id=task.id,
                update_mask=field_mask_pb2.FieldMask(
                    paths=["description", "due_time", "tags", "priority"]
                ),
            ),
            metadata=md,
        )
    ).task
    assert not cleared.HasField("description")
    assert not cleared.HasField("due_time")
    assert list(cleared.tags) == []
    assert cleared.priority == resources_pb2.PRIORITY_UNSPECIFIED
    assert cleared.title == "t"


async def test_list_filters_search_sort_and_pages(
    tasks_stub: TaskServiceStub, auth: Auth, user_id: str
) -> None:
    md = auth(user_id)
    titles = ["Buy milk", "call mom", "Write report", "buy bread", "water plants"]
    ids = {}
    for i, title in enumerate(titles):
        task = await _add(
            tasks_stub,
            md,
            title,
            priority=[1, 3, 2, 1, 0][i],
            tags=["shop"] if "uy" in title else [],
            description="weekly" if title == "water plants" else "",
        )
        ids[title] = task.id
    await tasks_stub.CompleteTask(pb.CompleteTaskRequest(task_id=ids["call mom"]), metadata=md)

    async def titles_of(**kw: object) -> list[str]:
        response = await tasks_stub.ListTasks(pb.ListTasksRequest(**kw), metadata=md)  # type: ignore[arg-type]
        return [t.title for t in response.tasks]

    assert await titles_of() == list(reversed(titles)), "default is newest first"
    assert await titles_of(sort="created_at") == titles
    assert await titles_of(status="completed") == ["call mom"]
    assert "call mom" not in await titles_of(status="pending")
    assert sorted(await titles_of(search="BUY")) == ["Buy milk", "buy bread"]
    assert await titles_of(search="weekly") == ["water plants"], "search covers descriptions"
    assert await titles_of(search="100%") == [], "LIKE wildcards are literal"
    assert sorted(await titles_of(tag="SHOP")) == ["Buy milk", "buy bread"]
    assert await titles_of(sort="title") == sorted(titles, key=str.lower)
    assert (await titles_of(sort="-priority"))[0] == "call mom"

    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        response = await tasks_stub.ListTasks(
            pb.ListTasksRequest(page_size=2, page_token=token, sort="title"), metadata=md
        )
        assert response.total_size == 5
        seen += [t.title for t in response.tasks]
        pages += 1
        token = response.next_page_token
        if not token:
            break
    assert pages == 3
    assert seen == sorted(titles, key=str.lower)


async def test_page_token_is_bound_to_its_query(
    tasks_stub: TaskServiceStub, auth: Auth, user_id: str
) -> None:
    md = auth(user_id)
    for title in ("a", "b", "c"):
        await _add(tasks_stub, md, title)
    first = await tasks_stub.ListTasks(pb.ListTasksRequest(page_size=1), metadata=md)
    assert first.next_page_token
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await tasks_stub.ListTasks(
            pb.ListTasksRequest(page_size=1, page_token=first.next_page_token, status="pending"),
            metadata=md,
        )
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in (caught.value.details() or "")


async def test_next_page_token_also_travels_in_metadata(
    tasks_stub: TaskServiceStub, auth: Auth, user_id: str
) -> None:
    md = auth(user_id)
    for title in ("a", "b"):
        await _add(tasks_stub, md, title)
    call = tasks_stub.ListTasks(pb.ListTasksRequest(page_size=1), metadata=md)
    response = await call
    initial = dict(await call.initial_metadata())
    assert initial["next-page-token"] == response.next_page_token != ""


@pytest.mark.parametrize(
    ("method", "make"),
    [
        pytest.param(
            "AddTask", lambda tid: pb.AddTaskRequest(title="x", request_id="k1"), id="add"
        ),
        pytest.param(
            "UpdateTask",
            lambda tid: pb.UpdateTaskRequest(task_id=tid, title="renamed", request_id="k1"),
            id="update",
        ),
        pytest.param(
            "CompleteTask",
            lambda tid: pb.CompleteTaskRequest(task_id=tid, request_id="k1"),
            id="toggle",
        ),
        pytest.param(
            "DeleteTask",
            lambda tid: pb.DeleteTaskRequest(task_id=tid, request_id="k1"),
            id="delete",
        ),
    ],
)
async def test_repeated_request_id_returns_first_result(
    tasks_stub: TaskServiceStub,
    auth: Auth,
    user_id: str,
    method: str,
    make: Callable[[str], object],
) -> None:
    md = auth(user_id)
    seed = await _add(tasks_stub, md, "seed")
    rpc = getattr(tasks_stub, method)
    first = await rpc(make(seed.id), metadata=md)
    second = await rpc(make(seed.id), metadata=md)
    assert first == second
    listed = await tasks_stub.ListTasks(pb.ListTasksRequest(), metadata=md)
    if method == "AddTask":
        assert [t.title for t in listed.tasks].count("x") == 1
    if method == "CompleteTask":
        assert listed.tasks[0].completed, "a repeated toggle must not toggle back"
    if method == "DeleteTask":
        assert listed.tasks == []


async def test_request_id_reused_for_another_request_is_rejected(
    tasks_stub: TaskServiceStub, auth: Auth, user_id: str
) -> None:
    md = auth(user_id)
    await tasks_stub.AddTask(pb.AddTaskRequest(title="one", request_id="same"), metadata=md)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await tasks_stub.AddTask(pb.AddTaskRequest(title="two", request_id="same"), metadata=md)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    listed = await tasks_stub.ListTasks(pb.ListTasksRequest(), metadata=md)
    assert [t.title for t in listed.tasks] == ["one"]


async def test_request_ids_are_per_user(
    tasks_stub: TaskServiceStub, auth: Auth, user_id: str
) -> None:
    other = user_id + "-other"
    a = await tasks_stub.AddTask(
        pb.AddTaskRequest(title="mine", request_id="k"), metadata=auth(user_id)
    )
    b = await tasks_stub.AddTask(
        pb.AddTaskRequest(title="mine", request_id="k"), metadata=auth(other)
    )
    assert a.task.id != b.task.id
    assert b.task.user_id == other


async def test_concurrent_repeats_create_one_task(
    tasks_stub: TaskServiceStub, auth: Auth, user_id: str
) -> None:
    import asyncio

    md = auth(user_id)
    results = await asyncio.gather(
        *(
            tasks_stub.AddTask(pb.AddTaskRequest(title="once", request_id="race"), metadata=md)
            for _ in range(8)
        )
    )
    assert len({r.task.id for r in results}) == 1
    listed = await tasks_stub.ListTasks(pb.ListTasksRequest(), metadata=md)
    assert len(listed.tasks) == 1
