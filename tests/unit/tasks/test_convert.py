"""Domain → protobuf for TaskService: the fast paths build exactly what protobuf's own
helpers and field-by-field construction build."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf import timestamp_pb2
from todochat.tasks.v1 import resources_pb2
from todochat.tasks.v1 import tasks_service_pb2 as pb

from services.tasks import convert
from services.tasks.domain import Priority, Task

T0 = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(datetime(1970, 1, 1, tzinfo=UTC), id="epoch"),
        pytest.param(T0, id="microseconds"),
        pytest.param(datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC), id="before-epoch"),
        pytest.param(datetime(1, 1, 1, tzinfo=UTC), id="year-1"),
        pytest.param(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), id="year-9999"),
        pytest.param(T0.astimezone(timezone(timedelta(hours=5, minutes=30))), id="not-utc"),
        pytest.param(T0.replace(tzinfo=None), id="naive-means-utc"),
    ],
)
def test_timestamp_matches_from_datetime(value: datetime) -> None:
    expected = timestamp_pb2.Timestamp()
    expected.FromDatetime(value)
    assert convert.timestamp(value) == expected


UNSET = Task(
    id="6f1c1f2e-8a35-4d8e-9d0c-0e1f2a3b4c5d",
    user_id="alice",
    title="buy milk",
    description=None,
    completed=False,
    priority=Priority.UNSPECIFIED,
    due_time=None,
    tags=(),
    created_at=T0,
    updated_at=T0 + timedelta(seconds=1),
    completed_at=None,
)
FULL = dataclasses.replace(
    UNSET,
    description="two litres",
    completed=True,
    priority=Priority.HIGH,
    due_time=T0 + timedelta(days=2),
    tags=("errand", "home"),
    completed_at=T0 + timedelta(hours=1),
)
EMPTY_DESCRIPTION = dataclasses.replace(UNSET, description="")


def _field_by_field(task: Task) -> resources_pb2.Task:
    message = resources_pb2.Task(
        id=task.id,
        user_id=task.user_id,
        title=task.title,
        completed=task.completed,
        priority=resources_pb2.Priority.ValueType(int(task.priority)),
        tags=list(task.tags),
    )
    message.created_at.FromDatetime(task.created_at)
    message.updated_at.FromDatetime(task.updated_at)
    if task.description is not None:
        message.description = task.description
    if task.due_time is not None:
        message.due_time.FromDatetime(task.due_time)
    if task.completed_at is not None:
        message.completed_at.FromDatetime(task.completed_at)
    return message


TASKS = [
    pytest.param(UNSET, id="optional-fields-unset"),
    pytest.param(FULL, id="every-field-set"),
    pytest.param(EMPTY_DESCRIPTION, id="empty-description-is-set"),
]


@pytest.mark.parametrize("task", TASKS)
def test_task_to_proto_sets_exactly_the_domain_fields(task: Task) -> None:
    message = convert.task_to_proto(task)
    assert message == _field_by_field(task)
    for name in ("description", "due_time", "completed_at"):
        assert message.HasField(name) == (getattr(task, name) is not None), name


def test_add_tasks_builds_the_same_messages_in_place() -> None:
    tasks = [UNSET, FULL, EMPTY_DESCRIPTION]
    response = pb.ListTasksResponse(total_size=3)
    convert.add_tasks(response.tasks, tasks)
    assert response == pb.ListTasksResponse(tasks=[_field_by_field(t) for t in tasks], total_size=3)
