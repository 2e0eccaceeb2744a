"""Queries over TaskService's tables. Every query takes the user id; nothing commits.

Reads select columns (not ORM entities) and build domain values directly: cheaper,
and no ORM object can escape. They run on what the use case hands them, a Session or
a plain Connection; the read path uses a Connection, because the ORM Session's set-up,
execution layers and close cost more CPU than the SELECT itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    SQLColumnExpression,
    String,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.tasks.domain import (
    NewTask,
    Priority,
    Sort,
    SortField,
    StatusFilter,
    Task,
    TaskChanges,
    TaskPage,
    TaskQuery,
)
from services.tasks.tables import RequestRow, TaskRow

# What a read runs on; both have `execute`, and neither is committed here.
Executor = AsyncConnection | AsyncSession

_COLUMNS = (
    TaskRow.id,
    TaskRow.user_id,
    TaskRow.title,
    TaskRow.description,
    TaskRow.completed,
    TaskRow.priority,
    TaskRow.due_time,
    TaskRow.tags,
    TaskRow.created_at,
    TaskRow.updated_at,
    TaskRow.completed_at,
)


def _task(row: Sequence[Any]) -> Task:
    """A Task from a row that starts with `_COLUMNS`, in that order. By position: a page
    builds one per row, and looking each column up by name cost more than the rest."""
    return Task(
        id=row[0],
        user_id=row[1],
        title=row[2],
        description=row[3],
        completed=bool(row[4]),
        priority=Priority(row[5]),
        due_time=row[6],
        tags=tuple(json.loads(row[7])),
        created_at=row[8],
        updated_at=row[9],
        completed_at=row[10],
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _encode_tags(tags: tuple[str, ...]) -> str:
    return json.dumps(sorted(tags))


async def insert_task(
    session: AsyncSession, user_id: str, task_id: str, new: NewTask, now: datetime
) -> Task:
    values = {
        "id": task_id,
        "user_id": user_id,
        "title": new.title,
        "description": new.description,
        "completed": False,
        "priority": int(new.priority),
        "due_time": new.due_time,
        "tags": _encode_tags(new.tags),
        "created_at": now,
        "updated_at": now,
        "completed_at": None,
    }
    await session.execute(insert(TaskRow).values(values))
    return _task([values[column.key] for column in _COLUMNS])


# GetTask's query, built once with bound parameters: SQLAlchemy memoizes a statement's
# cache key on the object, so each call skips rebuilding the query, hashing it and
# extracting literals from it (~0.2 ms of CPU per call; see bench/README.md).
_GET_FOR_USER = select(*_COLUMNS).where(
    TaskRow.user_id == bindparam("user_id"), TaskRow.id == bindparam("task_id")
)


async def get_for_user(db: Executor, user_id: str, task_id: str) -> Task | None:
    result = await db.execute(_GET_FOR_USER, {"user_id": user_id, "task_id": task_id})
    row = result.first()
    return _task(row) if row is not None else None


def _filtered(query: TaskQuery) -> Select[*tuple[Any, ...]]:
    """The query's rows and their window count. Values are named parameters (see
    _filter_params), so a statement depends only on the shape of the query."""
    total = func.count().over().label("total")
    stmt = select(*_COLUMNS, total).where(TaskRow.user_id == bindparam("user_id"))
    if query.status is StatusFilter.PENDING:
        stmt = stmt.where(TaskRow.completed.is_(False))
    elif query.status is StatusFilter.COMPLETED:
        stmt = stmt.where(TaskRow.completed.is_(True))
    if query.search:
        pattern = bindparam("search", type_=String)
        stmt = stmt.where(
            or_(
                func.lower(TaskRow.title).like(pattern, escape="\\"),
                func.lower(func.coalesce(TaskRow.description, "")).like(pattern, escape="\\"),
            )
        )
    if query.tag:
        stmt = stmt.where(TaskRow.tags.like(bindparam("tag"), escape="\\"))
    return stmt


def _filter_params(query: TaskQuery, user_id: str) -> dict[str, Any]:
    params: dict[str, Any] = {"user_id": user_id}
    if query.search:
        params["search"] = f"%{_escape_like(query.search.lower())}%"
    if query.tag:
        params["tag"] = f"%{_escape_like(json.dumps(query.tag))}%"
    return params


def _order(query: TaskQuery) -> list[ColumnElement[Any]]:
    column: SQLColumnExpression[Any] = {
        SortField.CREATED_AT: TaskRow.created_at,
        SortField.UPDATED_AT: TaskRow.updated_at,
        SortField.DUE_TIME: TaskRow.due_time,
        SortField.PRIORITY: TaskRow.priority,
        SortField.TITLE: func.lower(TaskRow.title),
    }[query.sort.field]
    keys: list[ColumnElement[Any]] = []
    if query.sort.field is SortField.DUE_TIME:
        # Tasks without a due time go last in either direction, on every backend.
        keys.append(TaskRow.due_time.is_(None).asc())
    keys.append(column.desc() if query.sort.descending else column.asc())
    keys.append(TaskRow.id.desc() if query.sort.descending else TaskRow.id.asc())
    return keys


def _page(query: TaskQuery) -> Select[*tuple[Any, ...]]:
    return (
        _filtered(query)
        .order_by(*_order(query))
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


_NEWEST_FIRST = Sort()
# The pages the frontend asks for (any status, no search or tag, newest first), built
# once like _GET_FOR_USER: a call then skips building the query, hashing it, and
# re-adapting the cached result columns to a new statement object (about a quarter of
# ListTasks' server CPU, measured). Other shapes are built per call.
_PLAIN_PAGES = MappingProxyType(
    {status: _page(TaskQuery(status=status)) for status in StatusFilter}
)


async def list_for_user(db: Executor, user_id: str, query: TaskQuery) -> TaskPage:
    plain = not query.search and not query.tag and query.sort == _NEWEST_FIRST
    stmt = _PLAIN_PAGES[query.status] if plain else _page(query)
    params = _filter_params(query, user_id)
    rows = (await db.execute(stmt, {**params, "limit": query.limit, "offset": query.offset})).all()
    if rows:
        total = int(rows[0].total)
    elif query.offset == 0:
        total = 0
    else:
        # Past the end: the window count is unknown without a row; count once.
        counted = select(func.count()).select_from(_filtered(query).subquery())
        total = int((await db.execute(counted, params)).scalar_one())
    tasks = tuple(_task(row) for row in rows)
    end = query.offset + len(tasks)
    return TaskPage(tasks=tasks, total=total, next_offset=end if end < total else None)


async def update_for_user(
    session: AsyncSession, user_id: str, task_id: str, changes: TaskChanges, now: datetime
) -> Task | None:
    values: dict[str, Any] = {"updated_at": now}
    if "title" in changes.fields:
        values["title"] = changes.title
    if "description" in changes.fields:
        values["description"] = changes.description
    if "priority" in changes.fields:
        values["priority"] = int(changes.priority or Priority.UNSPECIFIED)
    if "due_time" in changes.fields:
        values["due_time"] = changes.due_time
    if "tags" in changes.fields:
        values["tags"] = _encode_tags(changes.tags)
    if "completed" in changes.fields:
        values["completed"] = bool(changes.completed)
        values["completed_at"] = _completed_at(bool(changes.completed), now)
    return await _update_returning(session, user_id, task_id, values)


async def _update_returning(
    session: AsyncSession, user_id: str, task_id: str, values: dict[str, Any]
) -> Task | None:
    """One UPDATE of the caller's task that returns the new row (None if not theirs)."""
    stmt = (
        update(TaskRow)
        .where(TaskRow.user_id == user_id, TaskRow.id == task_id)
        .values(values)
        .returning(*_COLUMNS)
    )
    row = (await session.execute(stmt)).first()
    return _task(row) if row is not None else None


def _completed_at(completed: bool, now: datetime) -> Any:
    # Keep the first completion time when a completed task is "completed" again.
    if not completed:
        return None
    return func.coalesce(TaskRow.completed_at, now)


async def set_completed(
    session: AsyncSession, user_id: str, task_id: str, completed: bool | None, now: datetime
) -> Task | None:
    """Sets the state, or toggles it when `completed` is None, in one statement."""
    values: dict[str, Any]
    if completed is None:
        # SET expressions read the old row, so this flips state and stamps or clears
        # completed_at atomically, with no read-modify-write race.
        values = {
            "completed": ~TaskRow.completed,
            "completed_at": case((TaskRow.completed.is_(True), None), else_=now),
            "updated_at": now,
        }
    else:
        values = {
            "completed": completed,
            "completed_at": _completed_at(completed, now),
            "updated_at": now,
        }
    return await _update_returning(session, user_id, task_id, values)


async def delete_for_user(session: AsyncSession, user_id: str, task_id: str) -> bool:
    result = await session.execute(
        delete(TaskRow).where(TaskRow.user_id == user_id, TaskRow.id == task_id)
    )
    return bool(getattr(result, "rowcount", 0))


async def find_request(
    session: AsyncSession, user_id: str, request_id: str
) -> tuple[str, str, str] | None:
    """(method, fingerprint, result JSON) of an earlier request with this key."""
    row = (
        await session.execute(
            select(RequestRow.method, RequestRow.fingerprint, RequestRow.result).where(
                RequestRow.user_id == user_id, RequestRow.request_id == request_id
            )
        )
    ).first()
    return (row.method, row.fingerprint, row.result) if row is not None else None


async def record_request(
    session: AsyncSession,
    user_id: str,
    request_id: str,
    method: str,
    fingerprint: str,
    result: str,
    now: datetime,
) -> None:
    await session.execute(
        insert(RequestRow).values(
            user_id=user_id,
            request_id=request_id,
            method=method,
            fingerprint=fingerprint,
            result=result,
            created_at=now,
        )
    )
