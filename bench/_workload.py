"""What each benchmarked operation does, shared by the service client and the raw loop.

The seeded user owns exactly SEED_TASKS tasks for the whole run; AddTask writes as
another user, so ListTasks always returns (and counts) the same 50 rows whichever
order the cells run in.
"""

from __future__ import annotations

from services.tasks.domain import NewTask, Priority

OPERATIONS = ("GetTask", "ListTasks", "AddTask")
READER = "bench-reader"
WRITER = "bench-writer"
SEED_TASKS = 50
PAGE_SIZE = 50

ADD_TITLE = "benchmark task"
ADD_DESCRIPTION = "written by bench.tasks_load"
ADD_TAGS = ("bench", "load")
ADD_PRIORITY = Priority.MEDIUM


def new_task() -> NewTask:
    """The task every AddTask call writes (what the service builds from the request)."""
    return NewTask(
        title=ADD_TITLE,
        description=ADD_DESCRIPTION,
        priority=ADD_PRIORITY,
        tags=tuple(sorted(ADD_TAGS)),
    )
