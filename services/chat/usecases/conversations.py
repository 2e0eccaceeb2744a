"""Conversations of one user: list, read, page through messages, delete.

Another user's conversation is NOT_FOUND, exactly like one that never existed.
"""

from __future__ import annotations

import dataclasses

from services.chat import repository
from services.chat.domain import (
    CONVERSATION_MESSAGES_MAX,
    Conversation,
    ConversationDetail,
    Message,
    PageRequest,
)
from services.chat.usecases.deps import ChatDeps
from services.chat.usecases.errors import conversation_not_found
from services.servicekit import pagetoken
from services.servicekit.fingerprint import fingerprint


def _resolve(page: PageRequest, page_token: str, query: str) -> PageRequest:
    """A page token, when given, wins over `offset` (and is bound to its query)."""
    if not page_token:
        return page
    return dataclasses.replace(page, offset=pagetoken.decode(page_token, query))


def _next_token(page: PageRequest, returned: int, more: bool, query: str) -> str:
    return pagetoken.encode(page.offset + returned, query) if more else ""


async def list_conversations(
    deps: ChatDeps, user_id: str, page: PageRequest, page_token: str = ""
) -> tuple[list[Conversation], str]:
    """One page, most recently active first, and the next page's token ("" on the last)."""
    query = fingerprint("conversations")
    page = _resolve(page, page_token, query)
    async with deps.read_sessions() as session:
        conversations, more = await repository.list_conversations(session, user_id, page)
    return conversations, _next_token(page, len(conversations), more, query)


async def get_conversation(
    deps: ChatDeps, user_id: str, conversation_id: str
) -> ConversationDetail:
    async with deps.read_sessions() as session:
        conversation = await repository.get_conversation(session, user_id, conversation_id)
        if conversation is None:
            raise conversation_not_found(conversation_id)
        messages = await repository.last_messages(
            session, user_id, conversation_id, CONVERSATION_MESSAGES_MAX
        )
    return ConversationDetail(conversation, tuple(messages))


async def list_messages(
    deps: ChatDeps, user_id: str, conversation_id: str, page: PageRequest, page_token: str = ""
) -> tuple[list[Message], str]:
    """One page of the conversation's messages, oldest first, and the next page's token."""
    query = fingerprint("messages", conversation_id)
    page = _resolve(page, page_token, query)
    async with deps.read_sessions() as session:
        if await repository.get_conversation(session, user_id, conversation_id) is None:
            raise conversation_not_found(conversation_id)
        messages, more = await repository.list_messages(session, user_id, conversation_id, page)
    return messages, _next_token(page, len(messages), more, query)


async def delete_conversation(deps: ChatDeps, user_id: str, conversation_id: str) -> None:
    async with deps.sessions.begin() as session:
        if not await repository.delete_conversation(session, user_id, conversation_id):
            raise conversation_not_found(conversation_id)
