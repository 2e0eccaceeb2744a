"""Bad input → INVALID_ARGUMENT naming the field, before anything is stored or the model runs."""

from __future__ import annotations

import grpc
import pytest
from todochat.chat.v1 import chat_service_pb2 as pb

from tests.integration.chat.conftest import ChatEnv, RunningChat, error_details

CID = "6f1c1f8e-6a9b-4d8e-9a57-0d2f0a7d9c11"

BAD_REQUESTS = [
    pytest.param("Chat", pb.ChatRequest(content=""), "content", id="chat-empty-content"),
    pytest.param("Chat", pb.ChatRequest(content="  \n "), "content", id="chat-blank-content"),
    pytest.param("Chat", pb.ChatRequest(content="x" * 5001), "content", id="chat-content-too-long"),
    pytest.param("Chat", pb.ChatRequest(content="a\x00b"), "content", id="chat-content-nul"),
    pytest.param(
        "Chat", pb.ChatRequest(content="hi", context="c" * 5001), "context", id="chat-context-long"
    ),
    pytest.param(
        "Chat",
        pb.ChatRequest(content="hi", conversation_id="not-a-uuid"),
        "conversation_id",
        id="chat-bad-conversation-id",
    ),
    pytest.param(
        "Chat",
        pb.ChatRequest(content="hi", request_id="a b"),
        "request_id",
        id="chat-request-id-space",
    ),
    pytest.param(
        "Chat",
        pb.ChatRequest(content="hi", request_id="r" * 129),
        "request_id",
        id="chat-request-id-long",
    ),
    pytest.param(
        "StreamChat", pb.StreamChatRequest(content=""), "content", id="stream-empty-content"
    ),
    pytest.param(
        "StreamChat",
        pb.StreamChatRequest(content="hi", conversation_id="42"),
        "conversation_id",
        id="stream-bad-conversation-id",
    ),
    pytest.param(
        "ListConversations",
        pb.ListConversationsRequest(limit=-1),
        "limit",
        id="list-limit-negative",
    ),
    pytest.param(
        "ListConversations", pb.ListConversationsRequest(limit=101), "limit", id="list-limit-big"
    ),
    pytest.param(
        "ListConversations",
        pb.ListConversationsRequest(page_size=101),
        "page_size",
        id="list-page-size-big",
    ),
    pytest.param(
        "ListConversations",
        pb.ListConversationsRequest(offset=10001),
        "offset",
        id="list-offset-big",
    ),
    pytest.param(
        "ListConversations",
        pb.ListConversationsRequest(page_token="garbage"),
        "page_token",
        id="list-bad-token",
    ),
    pytest.param(
        "GetConversation", pb.GetConversationRequest(), "conversation_id", id="get-missing-id"
    ),
    pytest.param(
        "GetConversation",
        pb.GetConversationRequest(conversation_id="nope"),
        "conversation_id",
        id="get-bad-id",
    ),
    pytest.param(
        "ListMessages", pb.ListMessagesRequest(), "conversation_id", id="messages-missing-id"
    ),
    pytest.param(
        "ListMessages",
        pb.ListMessagesRequest(conversation_id=CID, page_size=501),
        "page_size",
        id="messages-page-size-big",
    ),
    pytest.param(
        "ListMessages",
        pb.ListMessagesRequest(conversation_id=CID, offset=-1),
        "offset",
        id="messages-offset-negative",
    ),
    pytest.param(
        "DeleteConversation",
        pb.DeleteConversationRequest(conversation_id="x"),
        "conversation_id",
        id="delete-bad-id",
    ),
]


async def _invoke(chat: RunningChat, method: str, request: object, md: object) -> None:
    call = getattr(chat.stub, method)(request, metadata=md, timeout=10)
    if method == "StreamChat":
        async for _ in call:
            pass
    else:
        await call


@pytest.mark.parametrize(("method", "request_message", "field"), BAD_REQUESTS)
async def test_bad_input_is_invalid_argument_naming_the_field(
    chat_env: ChatEnv,
    chat: RunningChat,
    user_id: str,
    method: str,
    request_message: object,
    field: str,
) -> None:
    md = chat_env.md(user_id)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _invoke(chat, method, request_message, md)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    details = error_details(caught.value)
    assert details.fields == [field]
    assert details.reasons == ["INVALID_ARGUMENT"], "exactly one ErrorInfo (AIP-193)"
    listed = await chat.stub.ListConversations(pb.ListConversationsRequest(), metadata=md)
    assert list(listed.conversations) == [], "nothing stored"
    assert chat.provider.sessions == [], "the model never ran"


async def test_all_bad_fields_are_reported_at_once(
    chat_env: ChatEnv, chat: RunningChat, user_id: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await chat.chat(
            "", chat_env.md(user_id), context="c" * 5001, conversation_id="x", request_id=" "
        )
    assert set(error_details(caught.value).fields) == {
        "content",
        "context",
        "conversation_id",
        "request_id",
    }


async def test_limits_at_the_edge_are_accepted(
    chat_env: ChatEnv, chat: RunningChat, user_id: str
) -> None:
    md = chat_env.md(user_id)
    answer = await chat.chat("x" * 5000, md, context="c" * 5000, request_id="r" * 128)
    assert answer.content == "echo: " + "x" * 5000
    listed = await chat.stub.ListConversations(
        pb.ListConversationsRequest(limit=100, offset=10000), metadata=md
    )
    assert list(listed.conversations) == []
    [conversation] = (
        await chat.stub.ListConversations(pb.ListConversationsRequest(), metadata=md)
    ).conversations
    assert len(conversation.title) == 80 and conversation.title.endswith("…")
    assert len(conversation.last_message) == 200


@pytest.mark.parametrize(
    ("metadata", "code"),
    [
        pytest.param((), grpc.StatusCode.UNAUTHENTICATED, id="no-token"),
        pytest.param(
            (("authorization", "Bearer not.a.token"),),
            grpc.StatusCode.UNAUTHENTICATED,
            id="bad-token",
        ),
    ],
)
async def test_calls_without_a_valid_token_are_unauthenticated(
    chat: RunningChat, metadata: tuple[tuple[str, str], ...], code: grpc.StatusCode
) -> None:
    for method, request in [
        ("Chat", pb.ChatRequest(content="hi")),
        ("StreamChat", pb.StreamChatRequest(content="hi")),
        ("ListConversations", pb.ListConversationsRequest()),
        ("GetConversation", pb.GetConversationRequest(conversation_id=CID)),
        ("ListMessages", pb.ListMessagesRequest(conversation_id=CID)),
        ("DeleteConversation", pb.DeleteConversationRequest(conversation_id=CID)),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _invoke(chat, method, request, metadata)
        assert caught.value.code() is code, method


async def test_path_user_must_be_the_token_subject(
    chat_env: ChatEnv, chat: RunningChat, user_id: str
) -> None:
    md = chat_env.md(user_id)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await chat.chat("hi", md, user_id="someone-else")
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    answer = await chat.chat("hi", md, user_id=user_id)
    assert answer.content == "echo: hi"
