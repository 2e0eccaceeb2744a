"""Queries over ChatService's tables. Every query takes the user id; nothing commits.

Reads select columns (not ORM entities) and build domain values directly, so no ORM
object can escape the session.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.chat.domain import (
    ChatAnswer,
    Conversation,
    Message,
    PageRequest,
    Role,
    ToolCallRecord,
    TurnRecord,
    TurnStatus,
    preview_of,
)
from services.chat.tables import ConversationRow, MessageRow, RateCounterRow, TurnRow

_CONVERSATION_COLUMNS = (
    ConversationRow.id,
    ConversationRow.title,
    ConversationRow.last_message,
    ConversationRow.created_at,
    ConversationRow.updated_at,
    ConversationRow.message_count,
)
_MESSAGE_COLUMNS = (
    MessageRow.id,
    MessageRow.conversation_id,
    MessageRow.role,
    MessageRow.content,
    MessageRow.tool_calls,
    MessageRow.created_at,
    MessageRow.position,
)


def encode_tool_calls(calls: tuple[ToolCallRecord, ...]) -> list[dict[str, Any]]:
    return [
        {"name": c.name, "arguments": c.arguments, "result": c.result, "ok": c.ok} for c in calls
    ]


def _decode_tool_calls(data: list[dict[str, Any]] | None) -> tuple[ToolCallRecord, ...]:
    return tuple(
        ToolCallRecord(name=c["name"], arguments=c["arguments"], result=c["result"], ok=c["ok"])
        for c in data or ()
    )


def _encode_answer(answer: ChatAnswer) -> dict[str, Any]:
    return {
        "conversation_id": answer.conversation_id,
        "message_id": answer.message_id,
        "content": answer.content,
        "created_at": answer.created_at.isoformat(),
        "tool_calls": encode_tool_calls(answer.tool_calls),
    }


def _decode_answer(data: dict[str, Any]) -> ChatAnswer:
    return ChatAnswer(
        conversation_id=data["conversation_id"],
        message_id=data["message_id"],
        content=data["content"],
        created_at=datetime.fromisoformat(data["created_at"]),
        tool_calls=_decode_tool_calls(data["tool_calls"]),
    )


def _conversation(row: Any) -> Conversation:
    return Conversation(
        id=row.id,
        title=row.title,
        last_message=row.last_message,
        created_at=row.created_at,
        updated_at=row.updated_at,
        message_count=int(row.message_count),
    )


def _message(row: Any) -> Message:
    return Message(
        id=row.id,
        conversation_id=row.conversation_id,
        role=Role(row.role),
        content=row.content,
        tool_calls=_decode_tool_calls(row.tool_calls),
        created_at=row.created_at,
        position=int(row.position),
    )


# --- conversations and messages -------------------------------------------------------


async def insert_conversation(
    session: AsyncSession, user_id: str, conversation_id: str, title: str, now: datetime
) -> None:
    await session.execute(
        insert(ConversationRow).values(
            id=conversation_id,
            user_id=user_id,
            title=title,
            last_message="",
            message_count=0,
            created_at=now,
            updated_at=now,
        )
    )


async def get_conversation(
    session: AsyncSession, user_id: str, conversation_id: str
) -> Conversation | None:
    row = (
        await session.execute(
            select(*_CONVERSATION_COLUMNS).where(
                ConversationRow.user_id == user_id, ConversationRow.id == conversation_id
            )
        )
    ).first()
    return _conversation(row) if row is not None else None


async def list_conversations(
    session: AsyncSession, user_id: str, page: PageRequest
) -> tuple[list[Conversation], bool]:
    """One page, most recently active first, and whether more follow."""
    rows = (
        await session.execute(
            select(*_CONVERSATION_COLUMNS)
            .where(ConversationRow.user_id == user_id)
            .order_by(ConversationRow.updated_at.desc(), ConversationRow.id.desc())
            .limit(page.limit + 1)
            .offset(page.offset)
        )
    ).all()
    return [_conversation(r) for r in rows[: page.limit]], len(rows) > page.limit


async def delete_conversation(session: AsyncSession, user_id: str, conversation_id: str) -> bool:
    # Messages go explicitly rather than only by ON DELETE CASCADE, which SQLite honours
    # only when foreign keys are switched on for the connection.
    await session.execute(
        delete(MessageRow).where(
            MessageRow.user_id == user_id, MessageRow.conversation_id == conversation_id
        )
    )
    result = await session.execute(
        delete(ConversationRow).where(
            ConversationRow.user_id == user_id, ConversationRow.id == conversation_id
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def append_message(
    session: AsyncSession,
    user_id: str,
    conversation_id: str,
    *,
    message_id: str,
    role: Role,
    content: str,
    tool_calls: tuple[ToolCallRecord, ...],
    now: datetime,
) -> Message | None:
    """Adds a message at the end of the conversation; None if it is not the user's.

    Bumping the conversation's count first takes its row lock, so concurrent appends to
    one conversation get distinct, gap-free positions.
    """
    bumped = (
        await session.execute(
            update(ConversationRow)
            .where(ConversationRow.user_id == user_id, ConversationRow.id == conversation_id)
            .values(
                message_count=ConversationRow.message_count + 1,
                updated_at=now,
                last_message=preview_of(content),
            )
            .returning(ConversationRow.message_count)
        )
    ).first()
    if bumped is None:
        return None
    position = int(bumped.message_count)
    await session.execute(
        insert(MessageRow).values(
            id=message_id,
            conversation_id=conversation_id,
            user_id=user_id,
            position=position,
            role=role.value,
            content=content,
            tool_calls=encode_tool_calls(tool_calls),
            created_at=now,
        )
    )
    return Message(message_id, conversation_id, role, content, tool_calls, now, position)


async def last_messages(
    session: AsyncSession,
    user_id: str,
    conversation_id: str,
    limit: int,
    *,
    up_to_position: int | None = None,
) -> list[Message]:
    """The newest `limit` messages (up to a position, when given), oldest first."""
    stmt = select(*_MESSAGE_COLUMNS).where(
        MessageRow.user_id == user_id, MessageRow.conversation_id == conversation_id
    )
    if up_to_position is not None:
        stmt = stmt.where(MessageRow.position <= up_to_position)
    rows = (await session.execute(stmt.order_by(MessageRow.position.desc()).limit(limit))).all()
    return [_message(r) for r in reversed(rows)]


async def list_messages(
    session: AsyncSession, user_id: str, conversation_id: str, page: PageRequest
) -> tuple[list[Message], bool]:
    """One page, oldest first, and whether more follow."""
    rows = (
        await session.execute(
            select(*_MESSAGE_COLUMNS)
            .where(MessageRow.user_id == user_id, MessageRow.conversation_id == conversation_id)
            .order_by(MessageRow.position.asc())
            .limit(page.limit + 1)
            .offset(page.offset)
        )
    ).all()
    return [_message(r) for r in rows[: page.limit]], len(rows) > page.limit


async def message_position(session: AsyncSession, user_id: str, message_id: str) -> int | None:
    row = (
        await session.execute(
            select(MessageRow.position).where(
                MessageRow.user_id == user_id, MessageRow.id == message_id
            )
        )
    ).first()
    return int(row.position) if row is not None else None


# --- turns: idempotency records and the rate limit ---------------------------------------


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


async def claim_turn(
    session: AsyncSession, user_id: str, request_id: str, *, now: datetime, stale_before: datetime
) -> bool:
    """Takes over a failed (or abandoned) turn for another attempt; False if someone else has it."""
    result = await session.execute(
        update(TurnRow)
        .where(
            TurnRow.user_id == user_id,
            TurnRow.request_id == request_id,
            (TurnRow.status == TurnStatus.FAILED.value)
            | ((TurnRow.status == TurnStatus.RUNNING.value) & (TurnRow.started_at < stale_before)),
        )
        .values(
            status=TurnStatus.RUNNING.value,
            attempts=TurnRow.attempts + 1,
            started_at=now,
            updated_at=now,
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def finish_turn(
    session: AsyncSession, user_id: str, request_id: str, answer: ChatAnswer, now: datetime
) -> None:
    await session.execute(
        update(TurnRow)
        .where(TurnRow.user_id == user_id, TurnRow.request_id == request_id)
        .values(
            status=TurnStatus.DONE.value,
            assistant_message_id=answer.message_id,
            response=_encode_answer(answer),
            updated_at=now,
        )
    )


async def fail_turn(session: AsyncSession, user_id: str, request_id: str, now: datetime) -> None:
    await session.execute(
        update(TurnRow)
        .where(
            TurnRow.user_id == user_id,
            TurnRow.request_id == request_id,
            TurnRow.status == TurnStatus.RUNNING.value,
        )
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
