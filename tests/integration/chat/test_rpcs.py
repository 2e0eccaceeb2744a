"""Every ChatService RPC through a real gRPC channel, with a real TaskService behind it."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import json_format
from todochat.chat.v1 import chat_service_pb2 as pb
from todochat.tasks.v1 import tasks_service_pb2 as tasks_pb

from tests.integration.chat.conftest import ChatEnv, RunningChat


async def test_chat_adds_a_task_through_task_service(
    chat_env: ChatEnv, chat: RunningChat, user_id: str
) -> None:
    md = chat_env.md(user_id)
    answer = await chat.chat("add buy milk", md)

    assert answer.role == "assistant"
    assert answer.content == 'Added "buy milk".'
    uuid.UUID(answer.conversation_id)
    uuid.UUID(answer.message_id)
    assert answer.created_at.seconds > 0
    [record] = answer.tool_calls
    assert record.name == "add_task" and record.ok
    assert json_format.MessageToDict(record.arguments) == {"title": "buy milk"}
    result = json_format.MessageToDict(record.result)
    assert result["title"] == "buy milk" and result["user_id"] == user_id
    assert result["description"] is None, "unset optional fields print as null"
    assert result["completed"] is False, "fields are always printed"

    listed = await chat_env.tasks_stub.ListTasks(tasks_pb.ListTasksRequest(), metadata=md)
    assert [(t.id, t.title) for t in listed.tasks] == [(result["id"], "buy milk")]


async def test_conversation_continues_and_is_listed_read_and_deleted(
    chat_env: ChatEnv, chat: RunningChat, user_id: str
) -> None:
    md = chat_env.md(user_id)
    first = await chat.chat("hello there", md)
    await chat.chat("add water plants", md, conversation_id=first.conversation_id)
    other = await chat.chat("second conversation", md)
    assert other.conversation_id != first.conversation_id

    listed = await chat.stub.ListConversations(pb.ListConversationsRequest(), metadata=md)
    assert [c.id for c in listed.conversations] == [other.conversation_id, first.conversation_id]
    newest, oldest = listed.conversations
    assert (oldest.title, oldest.message_count) == ("hello there", 4)
    assert oldest.last_message == 'Added "water plants".'
    assert oldest.updated_at.ToDatetime() >= oldest.created_at.ToDatetime()
    assert (newest.title, newest.last_message) == (
        "second conversation",
        "echo: second conversation",
    )
    assert listed.next_page_token == ""

    got = await chat.stub.GetConversation(
        pb.GetConversationRequest(conversation_id=first.conversation_id), metadata=md
    )
    assert (got.id, got.title, got.message_count) == (first.conversation_id, "hello there", 4)
    assert [(m.role, m.content) for m in got.messages] == [
        ("user", "hello there"),
        ("assistant", "echo: hello there"),
        ("user", "add water plants"),
        ("assistant", 'Added "water plants".'),
    ]
    assert [len(m.tool_calls) for m in got.messages] == [0, 0, 0, 1]
    assert got.messages[3].tool_calls[0].name == "add_task"
    assert {m.conversation_id for m in got.messages} == {first.conversation_id}

    messages = await chat.stub.ListMessages(
        pb.ListMessagesRequest(conversation_id=first.conversation_id), metadata=md
    )
    assert list(messages.messages) == list(got.messages)

    await chat.stub.DeleteConversation(
        pb.DeleteConversationRequest(conversation_id=first.conversation_id), metadata=md
    )
    for rpc, request in [
        (chat.stub.GetConversation, pb.GetConversationRequest),
        (chat.stub.ListMessages, pb.ListMessagesRequest),
        (chat.stub.DeleteConversation, pb.DeleteConversationRequest),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await rpc(request(conversation_id=first.conversation_id), metadata=md)
        assert caught.value.code() is grpc.StatusCode.NOT_FOUND
    listed = await chat.stub.ListConversations(pb.ListConversationsRequest(), metadata=md)
    assert [c.id for c in listed.conversations] == [other.conversation_id]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await chat.chat("more", md, conversation_id=first.conversation_id)
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


async def test_paging_by_limit_offset_and_tokens(
    chat_env: ChatEnv, chat: RunningChat, user_id: str
) -> None:
    md = chat_env.md(user_id)
    ids = [(await chat.chat(f"conversation {i}", md)).conversation_id for i in range(5)]
    newest_first = ids[::-1]

    by_offset = await chat.stub.ListConversations(
        pb.ListConversationsRequest(limit=2, offset=1), metadata=md
    )
    assert [c.id for c in by_offset.conversations] == newest_first[1:3]

    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        call = chat.stub.ListConversations(
            pb.ListConversationsRequest(page_size=2, page_token=token), metadata=md
        )
        page = await call
        seen += [c.id for c in page.conversations]
        pages += 1
        header = dict(await call.initial_metadata()).get("next-page-token", "")
        assert header == page.next_page_token, "the token also rides in metadata for REST"
        token = page.next_page_token
        if not token:
            break
    assert (seen, pages) == (newest_first, 3)

    conversation_id = ids[0]
    for i in range(3):
        await chat.chat(f"more {i}", md, conversation_id=conversation_id)
    contents: list[str] = []
    token = ""
    first_token = ""
    while True:
        page = await chat.stub.ListMessages(
            pb.ListMessagesRequest(conversation_id=conversation_id, page_size=3, page_token=token),
            metadata=md,
        )
        contents += [m.content for m in page.messages]
        token = page.next_page_token
        first_token = first_token or token
        if not token:
            break
    assert contents == [
        "conversation 0",
        "echo: conversation 0",
        *[text for i in range(3) for text in (f"more {i}", f"echo: more {i}")],
    ]
    limited = await chat.stub.ListMessages(
        pb.ListMessagesRequest(conversation_id=conversation_id, limit=2, offset=6), metadata=md
    )
    assert [m.content for m in limited.messages] == ["more 2", "echo: more 2"]

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await chat.stub.ListMessages(
            pb.ListMessagesRequest(conversation_id=ids[1], page_token=first_token), metadata=md
        )
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT, "a token is bound to its query"
