"""Tasks as the use cases see them: frozen values, no ORM rows, no protobuf."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

TITLE_MAX = 200
DESCRIPTION_MAX = 1000
TAG_MAX_LENGTH = 32
TAGS_MAX = 10
SEARCH_MAX = 200
PAGE_SIZE_DEFAULT = 100
PAGE_SIZE_MAX = 500


class Priority(enum.IntEnum):
    UNSPECIFIED = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3


class StatusFilter(enum.Enum):
    ALL = "all"
    PENDING = "pending"
    COMPLETED = "completed"


class SortField(enum.Enum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    DUE_TIME = "due_time"
    PRIORITY = "priority"
    TITLE = "title"


@dataclass(frozen=True)
class Task:
    id: str
    user_id: str
    title: str
    description: str | None
    completed: bool
    priority: Priority
    due_time: datetime | None
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class NewTask:
    title: str
    description: str | None = None
    priority: Priority = Priority.UNSPECIFIED
    due_time: datetime | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaskChanges:
    """A partial update: only the fields named in `fields` change.

    Naming a field with a None value clears it (description, due_time).
    """

    fields: frozenset[str]
    title: str | None = None
    description: str | None = None
    completed: bool | None = None
    priority: Priority | None = None
    due_time: datetime | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sort:
    field: SortField = SortField.CREATED_AT
    descending: bool = True


@dataclass(frozen=True)
class TaskQuery:
    status: StatusFilter = StatusFilter.ALL
    search: str = ""
    tag: str = ""
    sort: Sort = Sort()
    limit: int = PAGE_SIZE_DEFAULT
    offset: int = 0

    def fingerprint_parts(self) -> tuple[object, ...]:
        return (
            self.status.value,
            self.search,
            self.tag,
            self.sort.field.value,
            self.sort.descending,
        )


@dataclass(frozen=True)
class TaskPage:
    tasks: tuple[Task, ...]
    total: int
    next_offset: int | None
