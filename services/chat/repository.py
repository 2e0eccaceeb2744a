"""Queries over ChatService's tables. Every query takes the user id; nothing commits.

Reads select columns (not ORM entities) and build domain values directly, so no ORM
object can escape the session.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.chat.domain import (
    Conversation,
    Message,
    PageRequest,
    Role,
    ToolCallRecord,
    preview_of,
)
from services.chat.tables import ConversationRow, MessageRow

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


def decode_tool_calls(data: list[dict[str, Any]] | None) -> tuple[ToolCallRecord, ...]:
    return tuple(
        ToolCallRecord(name=c["name"], arguments=c["arguments"], result=c["result"], ok=c["ok"])
        for c in data or ()
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
        tool_calls=decode_tool_calls(row.tool_calls),
        created_at=row.created_at,
        position=int(row.position),
    )


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
