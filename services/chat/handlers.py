"""ChatService RPC handlers: proto in, one use case, proto out. Nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any

from grpc import aio
from todochat.chat.v1 import chat_service_pb2 as pb
from todochat.chat.v1 import chat_service_pb2_grpc

from services.chat import convert, streaming
from services.chat.agent.loop import AgentEvents
from services.chat.domain import ChatAnswer
from services.chat.usecases import conversations
from services.chat.usecases.deps import ChatDeps
from services.chat.usecases.turn import run_turn
from services.servicekit.auth import Principal, authorize_path_user, current_principal

Context = aio.ServicerContext[Any, Any]


def _caller(path_user_id: str = "") -> Principal:
    principal = current_principal()
    authorize_path_user(path_user_id, principal)
    return principal


def _event_to_proto(event: streaming.TurnEvent) -> pb.StreamChatResponse:
    if isinstance(event, streaming.ToolStarted):
        return pb.StreamChatResponse(
            tool_call=pb.ToolCallStarted(
                index=event.index, name=event.name, arguments_json=event.arguments_json
            )
        )
    if isinstance(event, streaming.ToolFinished):
        return pb.StreamChatResponse(
            tool_result=pb.ToolCallFinished(
                index=event.index, tool_call=convert.tool_call_to_proto(event.record)
            )
        )
    if isinstance(event, streaming.TextDelta):
        return pb.StreamChatResponse(text_delta=pb.TextDelta(text=event.text))
    return pb.StreamChatResponse(done=convert.chat_response(event.answer))


class ChatServicer(chat_service_pb2_grpc.ChatServiceServicer):
    def __init__(self, deps: ChatDeps) -> None:
        self._deps = deps

    async def Chat(self, request: pb.ChatRequest, context: Context) -> pb.ChatResponse:
        principal = _caller(request.user_id)
        turn = convert.turn_request(request)
        answer = await run_turn(
            self._deps, principal, turn, rpc_time_remaining=context.time_remaining()
        )
        return convert.chat_response(answer)

    async def StreamChat(
        self, request: pb.StreamChatRequest, context: Context
    ) -> AsyncIterator[pb.StreamChatResponse]:
        principal = _caller(request.user_id)
        turn = convert.turn_request(request)
        remaining = context.time_remaining()

        def run(events: AgentEvents) -> Awaitable[ChatAnswer]:
            return run_turn(
                self._deps, principal, turn, rpc_time_remaining=remaining, events=events
            )

        async for event in streaming.stream_turn(run):
            yield _event_to_proto(event)

    async def ListConversations(
        self, request: pb.ListConversationsRequest, context: Context
    ) -> pb.ListConversationsResponse:
        principal = _caller()
        page = convert.conversations_page(request)
        found, token = await conversations.list_conversations(
            self._deps, principal.user_id, page, request.page_token
        )
        if token:
            # REST returns a bare array (response_body), so the token also rides in
            # metadata, which the gateway forwards as Grpc-Metadata-Next-Page-Token.
            await context.send_initial_metadata((("next-page-token", token),))
        return pb.ListConversationsResponse(
            conversations=[convert.conversation_to_proto(c) for c in found],
            next_page_token=token,
        )

    async def GetConversation(
        self, request: pb.GetConversationRequest, context: Context
    ) -> pb.GetConversationResponse:
        principal = _caller()
        conversation_id = convert.required_conversation_id(request.conversation_id)
        detail = await conversations.get_conversation(
            self._deps, principal.user_id, conversation_id
        )
        return convert.conversation_detail_to_proto(detail)

    async def ListMessages(
        self, request: pb.ListMessagesRequest, context: Context
    ) -> pb.ListMessagesResponse:
        principal = _caller()
        conversation_id, page = convert.messages_page(request)
        found, token = await conversations.list_messages(
            self._deps, principal.user_id, conversation_id, page, request.page_token
        )
        if token:
            await context.send_initial_metadata((("next-page-token", token),))
        return pb.ListMessagesResponse(
            messages=[convert.message_to_proto(m) for m in found], next_page_token=token
        )

    async def DeleteConversation(
        self, request: pb.DeleteConversationRequest, context: Context
    ) -> pb.DeleteConversationResponse:
        principal = _caller()
        conversation_id = convert.required_conversation_id(request.conversation_id)
        await conversations.delete_conversation(self._deps, principal.user_id, conversation_id)
        return pb.DeleteConversationResponse()
