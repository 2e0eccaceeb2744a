"""What the database holds after the drill, compared with what the clients sent.

Read straight from the tables (the services' own, over SQL), not through the services:
the check must not depend on the code it checks. Titles are compared case-insensitively
because the offline agent capitalises the first letter ("Drill-0-7").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from bench._pg import plain_dsn
from bench.drill.load import Turn


@dataclass(frozen=True)
class Findings:
    expected_tasks: int  # one per answered turn
    created_tasks: int  # rows with a drill title
    missing_tasks: list[str]  # answered turns whose task is not there
    duplicate_tasks: int  # rows beyond the first for a title
    unexpected_tasks: list[str]  # drill titles no answered turn asked for
    lost_messages: list[str]  # turns whose user message is not stored
    duplicate_messages: int  # user messages stored more than once
    answers_stored: int  # assistant messages of the drill's users
    turns_not_done: list[str]  # answered turns whose turn record is not `done`


async def verify(database_url: str, turns: Sequence[Turn]) -> Findings:
    users = sorted({t.user_id for t in turns})
    connection = await asyncpg.connect(plain_dsn(database_url))
    try:
        task_rows = await connection.fetch(
            "SELECT user_id, lower(title) AS title FROM tasks WHERE user_id = ANY($1::text[])",
            users,
        )
        message_rows = await connection.fetch(
            "SELECT user_id, role, content FROM chat_messages WHERE user_id = ANY($1::text[])",
            users,
        )
        turn_rows = await connection.fetch(
            "SELECT user_id, request_id, status FROM chat_turns WHERE user_id = ANY($1::text[])",
            users,
        )
    finally:
        await connection.close()

    tasks = Counter((r["user_id"], r["title"]) for r in task_rows)
    said = Counter((r["user_id"], r["content"]) for r in message_rows if r["role"] == "user")
    status = {(r["user_id"], r["request_id"]): r["status"] for r in turn_rows}
    answered = [t for t in turns if t.answered_at is not None]
    asked = {(t.user_id, t.title) for t in answered}
    return Findings(
        expected_tasks=len(answered),
        created_tasks=sum(tasks.values()),
        missing_tasks=[t.title for t in answered if tasks[(t.user_id, t.title)] == 0],
        duplicate_tasks=sum(n - 1 for n in tasks.values() if n > 1),
        unexpected_tasks=sorted(title for (user, title) in tasks if (user, title) not in asked),
        lost_messages=[t.title for t in turns if said[(t.user_id, t.content)] == 0],
        duplicate_messages=sum(n - 1 for n in said.values() if n > 1),
        answers_stored=sum(1 for r in message_rows if r["role"] == "assistant"),
        turns_not_done=[
            t.title for t in answered if status.get((t.user_id, t.request_id)) != "done"
        ],
    )
