"""The repository and use cases on both backends: SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from services.servicekit import database
from services.servicekit.config import ServerSettings, TasksSettings
from services.servicekit.errors import InvalidArgument, NotFound
from services.tasks import app as tasks_app
from services.tasks import repository, usecases
from services.tasks.domain import (
    NewTask,
    Priority,
    Sort,
    SortField,
    StatusFilter,
    TaskChanges,
    TaskQuery,
)
from services.tasks.usecases import TaskDeps

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def deps(database_url: str) -> AsyncIterator[TaskDeps]:
    await tasks_app.migrate(TasksSettings(ServerSettings("127.0.0.1", 0), database_url))
    engine = database.create_engine(database_url)
    ticks = iter(range(10_000))
    yield TaskDeps(
        sessions=database.create_session_factory(engine),
        reads=engine.execution_options(isolation_level="AUTOCOMMIT"),
        clock=lambda: T0 + timedelta(seconds=next(ticks)),
    )
    await engine.dispose()


async def test_round_trip_keeps_every_field_and_timezone(deps: TaskDeps) -> None:
    due = datetime(2026, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
    created = await usecases.add_task(
        deps, "u1", NewTask("title", "desc", Priority.HIGH, due, ("a", "b")), request_id=""
    )
    got = await usecases.get_task(deps, "u1", created.id)
    assert got == created
    assert got.due_time == due and got.due_time.tzinfo is not None
    assert got.created_at.tzinfo is not None


async def test_due_time_sorts_missing_last_both_ways(deps: TaskDeps) -> None:
    for title, days in (("none", None), ("late", 5), ("soon", 1)):
        due = None if days is None else T0 + timedelta(days=days)
        await usecases.add_task(deps, "u1", NewTask(title, due_time=due), request_id="")
    for descending, expected in (
        (False, ["soon", "late", "none"]),
        (True, ["late", "soon", "none"]),
    ):
        page, _ = await usecases.list_tasks(
            deps, "u1", TaskQuery(sort=Sort(SortField.DUE_TIME, descending))
        )
        assert [t.title for t in page.tasks] == expected


async def test_toggle_and_set_completed(deps: TaskDeps) -> None:
    task = await usecases.add_task(deps, "u1", NewTask("t"), request_id="")
    done = await usecases.complete_task(deps, "u1", task.id, None, request_id="")
    assert done.completed and done.completed_at is not None
    again = await usecases.complete_task(deps, "u1", task.id, True, request_id="")
    assert again.completed_at == done.completed_at, "completing twice keeps the first time"
    undone = await usecases.complete_task(deps, "u1", task.id, None, request_id="")
    assert not undone.completed and undone.completed_at is None


async def test_update_changes_only_named_fields(deps: TaskDeps) -> None:
    task = await usecases.add_task(
        deps, "u1", NewTask("t", "d", Priority.LOW, None, ("x",)), request_id=""
    )
    changed = await usecases.update_task(
        deps,
        "u1",
        task.id,
        TaskChanges(fields=frozenset({"title", "tags"}), title="t2", tags=("y", "z")),
        "",
    )
    assert (changed.title, changed.description, changed.priority, changed.tags) == (
        "t2",
        "d",
        Priority.LOW,
        ("y", "z"),
    )
    assert changed.updated_at > task.updated_at


async def test_filters_and_window_count(deps: TaskDeps) -> None:
    for i in range(7):
        task = await usecases.add_task(
            deps, "u1", NewTask(f"task {i}", tags=("even",) if i % 2 == 0 else ()), ""
        )
        if i < 3:
            await usecases.complete_task(deps, "u1", task.id, True, "")
    await usecases.add_task(deps, "someone-else", NewTask("task x"), "")
    page, token = await usecases.list_tasks(
        deps, "u1", TaskQuery(status=StatusFilter.PENDING, limit=3)
    )
    assert page.total == 4 and len(page.tasks) == 3 and token
    query = TaskQuery(status=StatusFilter.PENDING, limit=3)
    offset = usecases.page_offset(query, token)
    rest, last_token = await usecases.list_tasks(
        deps, "u1", TaskQuery(status=StatusFilter.PENDING, limit=3, offset=offset)
    )
    assert len(rest.tasks) == 1 and last_token == ""
    tagged, _ = await usecases.list_tasks(deps, "u1", TaskQuery(tag="even"))
    assert tagged.total == 4
    past_end, _ = await usecases.list_tasks(deps, "u1", TaskQuery(offset=50))
    assert past_end.tasks == () and past_end.total == 7
    with pytest.raises(InvalidArgument):
        usecases.page_offset(TaskQuery(status=StatusFilter.COMPLETED, limit=3), token)


async def test_missing_task_is_not_found_and_delete_removes(deps: TaskDeps) -> None:
    task = await usecases.add_task(deps, "u1", NewTask("t"), "")
    with pytest.raises(NotFound):
        await usecases.get_task(deps, "u2", task.id)
    await usecases.delete_task(deps, "u1", task.id, "")
    with pytest.raises(NotFound):
        await usecases.delete_task(deps, "u1", task.id, "")
    async with deps.sessions() as session:
        assert await repository.get_for_user(session, "u1", task.id) is None


async def test_idempotent_delete_repeats_without_error(deps: TaskDeps) -> None:
    task = await usecases.add_task(deps, "u1", NewTask("t"), "")
    await usecases.delete_task(deps, "u1", task.id, "del-1")
    await usecases.delete_task(deps, "u1", task.id, "del-1")
    async with deps.sessions() as session:
        assert await repository.find_request(session, "u1", "del-1") is not None


async def test_failed_mutation_records_nothing(deps: TaskDeps) -> None:
    with pytest.raises(NotFound):
        await usecases.complete_task(deps, "u1", "00000000-0000-0000-0000-000000000000", None, "k")
    async with deps.sessions() as session:
        assert await repository.find_request(session, "u1", "k") is None
