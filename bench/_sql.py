"""The SQL TaskService runs, captured from services/tasks/repository.py as it executes.

Rather than retyping the statements, run the repository functions once through a
SQLAlchemy engine like the service's and record what reaches the driver: the statement
text (asyncpg's `$n` placeholders) and its parameters. The raw loop replays exactly that.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event

from bench import _workload
from services.servicekit import database
from services.tasks import repository
from services.tasks.domain import TaskQuery


@dataclass(frozen=True)
class Statement:
    sql: str
    params: tuple[Any, ...]
    names: tuple[str, ...]

    def position(self, name: str) -> int:
        return self.names.index(name)


async def capture(url: str, task_id: str) -> dict[str, Statement]:
    """{operation: the one statement the service sends for it}, captured against `url`."""
    engine = database.create_engine(url, pool_size=1)
    seen: list[Statement] = []

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, context: Any, _many: bool) -> None:
        names = tuple(context.compiled.positiontup or ()) if context.compiled else ()
        seen.append(Statement(sql, tuple(params or ()), names))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    sessions = database.create_session_factory(engine)
    captured: dict[str, Statement] = {}
    try:
        async with sessions() as session:
            task = await repository.get_for_user(session, _workload.READER, task_id)
            assert task is not None, "seeded task not found"
            captured["GetTask"] = seen[-1]
            page = await repository.list_for_user(
                session, _workload.READER, TaskQuery(limit=_workload.PAGE_SIZE)
            )
            assert len(page.tasks) == _workload.PAGE_SIZE, "expected a full page"
            captured["ListTasks"] = seen[-1]
        async with sessions() as session:
            # Captured inside a transaction that is rolled back: the run starts clean.
            now = datetime.now(UTC)
            await repository.insert_task(
                session, _workload.WRITER, str(uuid.uuid4()), _workload.new_task(), now
            )
            captured["AddTask"] = seen[-1]
            await session.rollback()
    finally:
        await engine.dispose()
    return captured
