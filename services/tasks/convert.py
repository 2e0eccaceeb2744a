"""Protobuf ↔ domain for TaskService, validating every request field on the way in.

Each request reports all of its bad fields at once, named by proto field path, as a
google.rpc.BadRequest (through servicekit.status).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from google.protobuf import timestamp_pb2
from google.protobuf.internal.containers import RepeatedCompositeFieldContainer
from todochat.tasks.v1 import resources_pb2, tasks_service_pb2

from services.servicekit.errors import Violations
from services.servicekit.request_ids import check_request_id
from services.servicekit.timestamps import to_timestamp as timestamp
from services.tasks import domain
from services.tasks.domain import (
    DESCRIPTION_MAX,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    SEARCH_MAX,
    TAG_MAX_LENGTH,
    TAGS_MAX,
    TITLE_MAX,
    NewTask,
    Priority,
    Sort,
    SortField,
    StatusFilter,
    TaskChanges,
    TaskQuery,
)

_TAG = re.compile(r"^[\w-]+$")
_UPDATABLE = frozenset({"title", "description", "completed", "priority", "due_time", "tags"})
# Timestamps outside these years are almost certainly bugs (and some break backends).
_MIN_DUE = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_DUE = datetime(9999, 12, 31, tzinfo=UTC)


def _build(make: Callable[..., resources_pb2.Task], task: domain.Task) -> resources_pb2.Task:
    # One constructor call with every field (None leaves a field unset): no CopyFrom
    # of sub-messages, no attribute writes afterwards.
    return make(
        id=task.id,
        user_id=task.user_id,
        title=task.title,
        description=task.description,
        completed=task.completed,
        created_at=timestamp(task.created_at),
        updated_at=timestamp(task.updated_at),
        priority=resources_pb2.Priority.ValueType(task.priority),
        due_time=None if task.due_time is None else timestamp(task.due_time),
        tags=task.tags,
        completed_at=None if task.completed_at is None else timestamp(task.completed_at),
    )


def task_to_proto(task: domain.Task) -> resources_pb2.Task:
    return _build(resources_pb2.Task, task)


def add_tasks(
    into: RepeatedCompositeFieldContainer[resources_pb2.Task], tasks: Iterable[domain.Task]
) -> None:
    """Builds each task in place in a response's repeated field: passing finished
    messages to the response's constructor would copy every one of them again."""
    for task in tasks:
        _build(into.add, task)


def task_id(value: str, errors: Violations, field: str = "task_id") -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        errors.add(field, "must be a task id (a UUID)" if value else "is required")
        return value


def request_id(value: str, errors: Violations) -> str:
    return check_request_id(value, errors)


def task_ref(task_id_value: str, request_id_value: str) -> tuple[str, str]:
    """The task id and idempotency key of a request that names one task, both validated."""
    errors = Violations()
    tid = task_id(task_id_value, errors)
    key = request_id(request_id_value, errors)
    errors.raise_if_any()
    return tid, key


def _title(value: str, errors: Violations, field: str = "title") -> str:
    title = value.strip()
    if not title:
        errors.add(field, "must not be empty")
    elif len(title) > TITLE_MAX:
        errors.add(field, f"must be at most {TITLE_MAX} characters (got {len(title)})")
    elif "\x00" in title:
        errors.add(field, "must not contain NUL characters")
    return title


def _description(value: str, errors: Violations) -> str | None:
    if len(value) > DESCRIPTION_MAX:
        errors.add(
            "description", f"must be at most {DESCRIPTION_MAX} characters (got {len(value)})"
        )
    if "\x00" in value:
        errors.add("description", "must not contain NUL characters")
    return value if value.strip() else None


def _priority(value: int, errors: Violations) -> Priority:
    try:
        return Priority(value)
    except ValueError:
        errors.add("priority", f"unknown priority {value}; use LOW, MEDIUM or HIGH")
        return Priority.UNSPECIFIED


def _due_time(stamp: timestamp_pb2.Timestamp, errors: Violations) -> datetime | None:
    try:
        value = stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        errors.add("due_time", "is not a valid timestamp")
        return None
    if not _MIN_DUE <= value <= _MAX_DUE:
        errors.add("due_time", "must be between 1970 and 9999")
        return None
    return value


def _tag(value: str, errors: Violations, field: str) -> str:
    tag = value.strip().lower()
    if not tag or len(tag) > TAG_MAX_LENGTH or not _TAG.match(tag):
        errors.add(field, f"tags are 1 to {TAG_MAX_LENGTH} letters, digits, '_' or '-'")
    return tag


def _tags(values: list[str], errors: Violations) -> tuple[str, ...]:
    if len(values) > TAGS_MAX:
        errors.add("tags", f"at most {TAGS_MAX} tags")
    tags = [_tag(value, errors, f"tags[{i}]") for i, value in enumerate(values)]
    return tuple(sorted(set(tags)))


def new_task(request: tasks_service_pb2.AddTaskRequest) -> tuple[NewTask, str]:
    errors = Violations()
    new = NewTask(
        title=_title(request.title, errors),
        description=(
            _description(request.description, errors) if request.HasField("description") else None
        ),
        priority=_priority(request.priority, errors),
        due_time=_due_time(request.due_time, errors) if request.HasField("due_time") else None,
        tags=_tags(list(request.tags), errors),
    )
    key = request_id(request.request_id, errors)
    errors.raise_if_any()
    return new, key


def task_changes(request: tasks_service_pb2.UpdateTaskRequest) -> tuple[str, TaskChanges, str]:
    errors = Violations()
    tid = task_id(request.task_id, errors)
    if request.HasField("update_mask") and request.update_mask.paths:
        fields = set(request.update_mask.paths)
        for path in sorted(fields - _UPDATABLE):
            errors.add(
                "update_mask", f"cannot update {path!r}; use {', '.join(sorted(_UPDATABLE))}"
            )
        fields &= _UPDATABLE
    else:
        fields = {
            name
            for name in ("title", "description", "completed", "priority", "due_time")
            if request.HasField(name)
        }
        if request.tags:
            fields.add("tags")
    changes = TaskChanges(
        fields=frozenset(fields),
        title=_title(request.title, errors) if "title" in fields else None,
        description=_description(request.description, errors) if "description" in fields else None,
        completed=request.completed if "completed" in fields else None,
        priority=_priority(request.priority, errors) if "priority" in fields else None,
        due_time=(
            _due_time(request.due_time, errors)
            if "due_time" in fields and request.HasField("due_time")
            else None
        ),
        tags=_tags(list(request.tags), errors) if "tags" in fields else (),
    )
    key = request_id(request.request_id, errors)
    errors.raise_if_any()
    return tid, changes, key


def _sort(value: str, errors: Violations) -> Sort:
    if not value:
        return Sort()
    descending = value.startswith("-")
    name = value.removeprefix("-").removeprefix("+")
    try:
        return Sort(SortField(name), descending)
    except ValueError:
        allowed = ", ".join(f.value for f in SortField)
        errors.add(
            "sort", f"unknown sort {value!r}; use one of {allowed}, optionally prefixed by -"
        )
        return Sort()


def task_query(request: tasks_service_pb2.ListTasksRequest) -> tuple[TaskQuery, str]:
    """The query (offset 0) and the raw page token, which the use case decodes."""
    errors = Violations()
    status = StatusFilter.ALL
    if request.status:
        try:
            status = StatusFilter(request.status.strip().lower())
        except ValueError:
            errors.add("status", "must be all, pending or completed")
    if len(request.search) > SEARCH_MAX:
        errors.add("search", f"must be at most {SEARCH_MAX} characters")
    if not 0 <= request.page_size <= PAGE_SIZE_MAX:
        errors.add("page_size", f"must be between 0 and {PAGE_SIZE_MAX}")
    query = TaskQuery(
        status=status,
        search=request.search.strip(),
        tag=_tag(request.tag, errors, "tag") if request.tag else "",
        sort=_sort(request.sort.strip(), errors),
        limit=request.page_size or PAGE_SIZE_DEFAULT,
    )
    errors.raise_if_any()
    return query, request.page_token
