"""Protobuf ↔ domain for ChatService, validating every request field on the way in.

Each request reports all of its bad fields at once, named by proto field path, as a
google.rpc.BadRequest (through servicekit.status).
"""

from __future__ import annotations

import uuid
from typing import Any

from google.protobuf import json_format, struct_pb2
from todochat.chat.v1 import chat_service_pb2 as pb
from todochat.chat.v1 import resources_pb2

from services.chat.domain import (
    CONTENT_MAX,
    CONTEXT_MAX,
    CONVERSATIONS_PAGE_DEFAULT,
    CONVERSATIONS_PAGE_MAX,
    MESSAGES_PAGE_DEFAULT,
    MESSAGES_PAGE_MAX,
    OFFSET_MAX,
    ChatAnswer,
    Conversation,
    ConversationDetail,
    Message,
    PageRequest,
    ToolCallRecord,
    TurnRequest,
)
from services.servicekit.errors import Violations
from services.servicekit.request_ids import check_request_id
from services.servicekit.timestamps import to_timestamp

ChatLikeRequest = pb.ChatRequest | pb.StreamChatRequest


def _text(value: str, field: str, maximum: int, errors: Violations, *, required: bool) -> str:
    if len(value) > maximum:
        errors.add(field, f"must be at most {maximum} characters (got {len(value)})")
    elif "\x00" in value:
        errors.add(field, "must not contain NUL characters")
    elif required and not value.strip():
        errors.add(field, "must not be empty")
    return value.strip()


def conversation_id(value: str, errors: Violations, *, required: bool = True) -> str:
    if not value and not required:
        return ""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        errors.add(
            "conversation_id", "must be a conversation id (a UUID)" if value else "is required"
        )
        return value


def required_conversation_id(value: str) -> str:
    errors = Violations()
    result = conversation_id(value, errors)
    errors.raise_if_any()
    return result


def turn_request(request: ChatLikeRequest) -> TurnRequest:
    errors = Violations()
    content = _text(request.content, "content", CONTENT_MAX, errors, required=True)
    context = _text(request.context, "context", CONTEXT_MAX, errors, required=False)
    conversation = conversation_id(request.conversation_id, errors, required=False)
    check_request_id(request.request_id, errors)
    errors.raise_if_any()
    return TurnRequest(
        content=content,
        conversation_id=conversation or None,
        context=context or None,
        request_id=request.request_id,
    )


def page_request(
    *,
    page_size: int,
    limit: int,
    offset: int,
    default: int,
    maximum: int,
) -> PageRequest:
    errors = Violations()
    for name, value in (("page_size", page_size), ("limit", limit)):
        if not 0 <= value <= maximum:
            errors.add(name, f"must be between 0 and {maximum} (0 means {default})")
    if not 0 <= offset <= OFFSET_MAX:
        errors.add("offset", f"must be between 0 and {OFFSET_MAX}")
    errors.raise_if_any()
    return PageRequest(limit=page_size or limit or default, offset=offset)


def conversations_page(request: pb.ListConversationsRequest) -> PageRequest:
    return page_request(
        page_size=request.page_size,
        limit=request.limit,
        offset=request.offset,
        default=CONVERSATIONS_PAGE_DEFAULT,
        maximum=CONVERSATIONS_PAGE_MAX,
    )


def messages_page(request: pb.ListMessagesRequest) -> tuple[str, PageRequest]:
    errors = Violations()
    cid = conversation_id(request.conversation_id, errors)
    errors.raise_if_any()
    page = page_request(
        page_size=request.page_size,
        limit=request.limit,
        offset=request.offset,
        default=MESSAGES_PAGE_DEFAULT,
        maximum=MESSAGES_PAGE_MAX,
    )
    return cid, page


# --- domain → proto ------------------------------------------------------------------


def _value(data: Any) -> struct_pb2.Value:
    value = struct_pb2.Value()
    json_format.ParseDict(data, value)
    return value


def tool_call_to_proto(record: ToolCallRecord) -> resources_pb2.ToolCall:
    arguments = struct_pb2.Struct()
    arguments.update(record.arguments)
    return resources_pb2.ToolCall(
        name=record.name, arguments=arguments, result=_value(record.result), ok=record.ok
    )


def message_to_proto(message: Message) -> resources_pb2.Message:
    return resources_pb2.Message(
        id=message.id,
        conversation_id=message.conversation_id,
        role=message.role.value,
        content=message.content,
        tool_calls=[tool_call_to_proto(c) for c in message.tool_calls],
        created_at=to_timestamp(message.created_at),
    )


def conversation_to_proto(conversation: Conversation) -> resources_pb2.Conversation:
    return resources_pb2.Conversation(
        id=conversation.id,
        title=conversation.title,
        last_message=conversation.last_message,
        created_at=to_timestamp(conversation.created_at),
        updated_at=to_timestamp(conversation.updated_at),
        message_count=conversation.message_count,
    )


def conversation_detail_to_proto(detail: ConversationDetail) -> pb.GetConversationResponse:
    conversation = detail.conversation
    return pb.GetConversationResponse(
        id=conversation.id,
        title=conversation.title,
        created_at=to_timestamp(conversation.created_at),
        updated_at=to_timestamp(conversation.updated_at),
        messages=[message_to_proto(m) for m in detail.messages],
        message_count=conversation.message_count,
    )


def chat_response(answer: ChatAnswer) -> pb.ChatResponse:
    return pb.ChatResponse(
        conversation_id=answer.conversation_id,
        message_id=answer.message_id,
        role="assistant",
        content=answer.content,
        created_at=to_timestamp(answer.created_at),
        tool_calls=[tool_call_to_proto(c) for c in answer.tool_calls],
        request_id=answer.request_id,
    )
