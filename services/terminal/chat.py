"""`todochat chat`: talk to TodoBot in a terminal, answers streamed as they arrive."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import TextIO, cast

import grpc
from todochat.chat.v1 import chat_service_pb2 as pb
from todochat.chat.v1 import chat_service_pb2_grpc

from services.terminal.session import TerminalSession

_EXIT_WORDS = {"exit", "quit", "/exit", "/quit", ":q"}


def _short(arguments_json: str) -> str:
    try:
        arguments = json.loads(arguments_json)
    except ValueError:
        return arguments_json
    if not isinstance(arguments, dict):
        return arguments_json
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in arguments.items())


def describe_error(error: grpc.aio.AioRpcError) -> str:
    code = error.code()
    hint = {
        grpc.StatusCode.UNAVAILABLE: " (is `todochat up` running?)",
        grpc.StatusCode.UNAUTHENTICATED: " (is the token from this deployment's key?)",
    }.get(code, "")
    return f"{code.name.lower()}: {error.details() or 'no details'}{hint}"


async def one_turn(
    stub: chat_service_pb2_grpc.ChatServiceStub,
    session: TerminalSession,
    text: str,
    out: TextIO,
) -> None:
    request = pb.StreamChatRequest(
        content=text,
        conversation_id=session.conversation_id(),
        request_id=uuid.uuid4().hex,
    )
    started_text = False
    # The generated stubs are typed for the sync API; on an aio channel this is a
    # UnaryStreamCall, which is async-iterable.
    call = cast(
        "grpc.aio.UnaryStreamCall[pb.StreamChatRequest, pb.StreamChatResponse]",
        stub.StreamChat(request, metadata=session.metadata(), timeout=120),
    )
    async for event in call:
        kind = event.WhichOneof("event")
        if kind == "tool_call":
            out.write(f"  → {event.tool_call.name}({_short(event.tool_call.arguments_json)})\n")
        elif kind == "tool_result":
            record = event.tool_result.tool_call
            mark = "✓" if record.ok else "✗"
            out.write(f"  {mark} {record.name}\n")
        elif kind == "text_delta":
            if not started_text:
                out.write("todobot> ")
                started_text = True
            out.write(event.text_delta.text)
        elif kind == "done":
            if not started_text:
                out.write(f"todobot> {event.done.content}")
            out.write("\n")
            session.remember(event.done.conversation_id)
        out.flush()


async def run(target: str, session: TerminalSession, *, new: bool) -> int:
    if new:
        session.remember("")
    out = sys.stdout
    out.write(
        f"Talking to TodoBot as '{session.user}' "
        f"({'new conversation' if not session.conversation_id() else 'continuing'}). "
        "Type 'exit' or Ctrl-D to leave.\n"
    )
    out.flush()
    async with grpc.aio.insecure_channel(target) as channel:
        stub = chat_service_pb2_grpc.ChatServiceStub(channel)
        while True:
            out.write("you> ")
            out.flush()
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                out.write("\n")
                return 0
            text = line.strip()
            if not text:
                continue
            if text.lower() in _EXIT_WORDS:
                return 0
            try:
                await one_turn(stub, session, text, out)
            except grpc.aio.AioRpcError as error:
                out.write(f"\ntodochat: {describe_error(error)}\n")
                out.flush()
                if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED):
                    return 2
