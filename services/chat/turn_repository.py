"""Turn records (idempotency by request_id) and the per-minute turn counters.

Every query takes the user id; nothing commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.chat.domain import ChatAnswer, TurnRecord, TurnStatus
from services.chat.repository import decode_tool_calls, encode_tool_calls
from services.chat.tables import RateCounterRow, TurnRow


def _encode_answer(answer: ChatAnswer) -> dict[str, Any]:
    return {
        "conversation_id": answer.conversation_id,
        "message_id": answer.message_id,
        "content": answer.content,
        "created_at": answer.created_at.isoformat(),
        "tool_calls": encode_tool_calls(answer.tool_calls),
        "request_id": answer.request_id,
    }


def _decode_answer(data: dict[str, Any]) -> ChatAnswer:
    return ChatAnswer(
        conversation_id=data["conversation_id"],
        message_id=data["message_id"],
        content=data["content"],
        created_at=datetime.fromisoformat(data["created_at"]),
        tool_calls=decode_tool_calls(data["tool_calls"]),
        request_id=data.get("request_id", ""),
    )


async def find_turn(session: AsyncSession, user_id: str, request_id: str) -> TurnRecord | None:
    row = (
        await session.execute(
            select(TurnRow).where(TurnRow.user_id == user_id, TurnRow.request_id == request_id)
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    return TurnRecord(
        request_id=row.request_id,
        status=TurnStatus(row.status),
        fingerprint=row.fingerprint,
        conversation_id=row.conversation_id,
        user_message_id=row.user_message_id,
        started_at=row.started_at,
        attempts=row.attempts,
        answer=_decode_answer(row.response) if row.response is not None else None,
    )


async def insert_turn(
    session: AsyncSession,
    user_id: str,
    request_id: str,
    *,
    fingerprint: str,
    conversation_id: str,
    user_message_id: str,
    now: datetime,
) -> None:
    await session.execute(
        insert(TurnRow).values(
            user_id=user_id,
            request_id=request_id,
            status=TurnStatus.RUNNING.value,
            fingerprint=fingerprint,
            conversation_id=conversation_id,
            user_message_id=user_message_id,
            assistant_message_id=None,
            response=None,
            attempts=1,
            started_at=now,
            created_at=now,
            updated_at=now,
        )
    )


def _running(user_id: str, request_id: str, attempt: int) -> tuple[Any, ...]:
    """The turn, while `attempt` still holds it."""
    return (
        TurnRow.user_id == user_id,
        TurnRow.request_id == request_id,
        TurnRow.status == TurnStatus.RUNNING.value,
        TurnRow.attempts == attempt,
    )


async def claim_turn(
    session: AsyncSession, user_id: str, request_id: str, *, now: datetime, stale_before: datetime
) -> int | None:
    """Takes over a failed turn, or a running one whose claim was last renewed before
    `stale_before` (its process died); returns the new attempt's number, or None if
    another attempt holds it."""
    result = await session.execute(
        update(TurnRow)
        .where(
            TurnRow.user_id == user_id,
            TurnRow.request_id == request_id,
            (TurnRow.status == TurnStatus.FAILED.value)
            | ((TurnRow.status == TurnStatus.RUNNING.value) & (TurnRow.updated_at < stale_before)),
        )
        .values(
            status=TurnStatus.RUNNING.value,
            attempts=TurnRow.attempts + 1,
            started_at=now,
            updated_at=now,
        )
        .returning(TurnRow.attempts)
    )
    attempt = result.scalar_one_or_none()
    return None if attempt is None else int(attempt)


async def renew_claim(
    session: AsyncSession, user_id: str, request_id: str, attempt: int, now: datetime
) -> bool:
    """Tells other replicas that `attempt` is alive; False if it no longer holds the turn."""
    result = await session.execute(
        update(TurnRow).where(*_running(user_id, request_id, attempt)).values(updated_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


async def finish_turn(
    session: AsyncSession,
    user_id: str,
    request_id: str,
    attempt: int,
    answer: ChatAnswer,
    now: datetime,
) -> bool:
    """Stores the answer; False (store nothing) if another attempt took the turn over."""
    result = await session.execute(
        update(TurnRow)
        .where(*_running(user_id, request_id, attempt))
        .values(
            status=TurnStatus.DONE.value,
            assistant_message_id=answer.message_id,
            response=_encode_answer(answer),
            updated_at=now,
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def fail_turn(
    session: AsyncSession, user_id: str, request_id: str, attempt: int, now: datetime
) -> None:
    # Only this attempt's own claim: a late failure must not end a newer attempt's run.
    await session.execute(
        update(TurnRow)
        .where(*_running(user_id, request_id, attempt))
        .values(status=TurnStatus.FAILED.value, updated_at=now)
    )


async def count_turn(session: AsyncSession, user_id: str, window_start: datetime) -> int:
    """Counts one more turn in the user's current window; returns the window's count.

    One upsert, atomic on PostgreSQL and SQLite, so the limit holds across replicas.
    """
    dialect = session.get_bind().dialect.name
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(RateCounterRow)
    stmt = (
        upsert.values(user_id=user_id, window_start=window_start, count=1)
        .on_conflict_do_update(
            index_elements=[RateCounterRow.user_id, RateCounterRow.window_start],
            set_={"count": RateCounterRow.count + 1},
        )
        .returning(RateCounterRow.count)
    )
    count = int((await session.execute(stmt)).scalar_one())
    if count == 1:
        # The first turn of a new window clears the user's old windows.
        await session.execute(
            delete(RateCounterRow).where(
                RateCounterRow.user_id == user_id, RateCounterRow.window_start < window_start
            )
        )
    return count
