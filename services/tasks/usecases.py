"""TaskService use cases. Each one frames its own transaction.

They take the user id (always from the verified token) and their collaborators as
arguments, and never import grpc or protobuf.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.servicekit import pagetoken
from services.servicekit.database import SessionFactory
from services.servicekit.errors import NotFound
from services.servicekit.fingerprint import fingerprint
from services.tasks import idempotency, repository
from services.tasks.domain import NewTask, Task, TaskChanges, TaskPage, TaskQuery


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class TaskDeps:
    """What the use cases need, built once by the app and passed down."""

    sessions: SessionFactory
    # An autocommit engine: a lone SELECT needs no BEGIN/COMMIT round trips. Reads take
    # a plain connection from it, not a Session (see repository.py).
    reads: AsyncEngine
    clock: Callable[[], datetime] = _utcnow
    new_id: Callable[[], str] = _new_id


def _not_found(task_id: str) -> NotFound:
    return NotFound(
        f"task {task_id} not found", reason="TASK_NOT_FOUND", metadata={"task_id": task_id}
    )


async def add_task(deps: TaskDeps, user_id: str, new: NewTask, request_id: str) -> Task:
    now = deps.clock()
    task_id = deps.new_id()

    async def mutate(session: AsyncSession) -> Task:
        return await repository.insert_task(session, user_id, task_id, new, now)

    task = await idempotency.run_once(
        deps.sessions,
        user_id=user_id,
        request_id=request_id,
        method="AddTask",
        fingerprint=fingerprint(new),
        now=now,
        mutate=mutate,
    )
    assert task is not None
    return task


async def get_task(deps: TaskDeps, user_id: str, task_id: str) -> Task:
    async with deps.reads.connect() as connection:
        task = await repository.get_for_user(connection, user_id, task_id)
    if task is None:
        raise _not_found(task_id)
    return task


async def list_tasks(deps: TaskDeps, user_id: str, query: TaskQuery) -> tuple[TaskPage, str]:
    """The page and the token for the next one ("" on the last page)."""
    async with deps.reads.connect() as connection:
        page = await repository.list_for_user(connection, user_id, query)
    token = ""
    if page.next_offset is not None:
        token = pagetoken.encode(page.next_offset, fingerprint(*query.fingerprint_parts()))
    return page, token


def page_offset(query_without_offset: TaskQuery, page_token: str) -> int:
    return pagetoken.decode(page_token, fingerprint(*query_without_offset.fingerprint_parts()))


async def _change_existing(
    deps: TaskDeps,
    user_id: str,
    task_id: str,
    request_id: str,
    method: str,
    key: str,
    change: Callable[[AsyncSession, datetime], Awaitable[Task | None]],
) -> Task:
    """Runs `change` on the caller's task once per request_id; NOT_FOUND if it is not theirs."""
    now = deps.clock()

    async def mutate(session: AsyncSession) -> Task:
        task = await change(session, now)
        if task is None:
            raise _not_found(task_id)
        return task

    task = await idempotency.run_once(
        deps.sessions,
        user_id=user_id,
        request_id=request_id,
        method=method,
        fingerprint=key,
        now=now,
        mutate=mutate,
    )
    assert task is not None
    return task


async def update_task(
    deps: TaskDeps, user_id: str, task_id: str, changes: TaskChanges, request_id: str
) -> Task:
    if not changes.fields:
        return await get_task(deps, user_id, task_id)

    async def change(session: AsyncSession, now: datetime) -> Task | None:
        return await repository.update_for_user(session, user_id, task_id, changes, now)

    key = fingerprint(task_id, changes)
    return await _change_existing(deps, user_id, task_id, request_id, "UpdateTask", key, change)


async def complete_task(
    deps: TaskDeps, user_id: str, task_id: str, completed: bool | None, request_id: str
) -> Task:
    async def change(session: AsyncSession, now: datetime) -> Task | None:
        return await repository.set_completed(session, user_id, task_id, completed, now)

    key = fingerprint(task_id, completed)
    return await _change_existing(deps, user_id, task_id, request_id, "CompleteTask", key, change)


async def delete_task(deps: TaskDeps, user_id: str, task_id: str, request_id: str) -> None:
    now = deps.clock()

    async def mutate(session: AsyncSession) -> None:
        if not await repository.delete_for_user(session, user_id, task_id):
            raise _not_found(task_id)

    await idempotency.run_once(
        deps.sessions,
        user_id=user_id,
        request_id=request_id,
        method="DeleteTask",
        fingerprint=fingerprint(task_id),
        now=now,
        mutate=mutate,
    )
