"""A real TaskService and real ChatService instances (port 0) over one fresh PostgreSQL
database, each ChatService with a scripted model behind the provider protocol."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from todochat.chat.v1 import chat_service_pb2 as pb
from todochat.chat.v1 import chat_service_pb2_grpc
from todochat.tasks.v1 import tasks_service_pb2_grpc

from services.chat import app as chat_app
from services.servicekit.config import ChatSettings, JwtSettings, LlmSettings, ServerSettings
from tests.integration.chat.scripted import ScriptedProvider
from tests.integration.tasks.conftest import RunningTasks, start_tasks

Metadata = tuple[tuple[str, str], ...]


@dataclass
class RunningChat:
    app: chat_app.ChatApp
    port: int
    provider: ScriptedProvider
    channel: grpc.aio.Channel
    stub: chat_service_pb2_grpc.ChatServiceStub

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def chat(self, content: str, md: Metadata, **fields: object) -> pb.ChatResponse:
        request = pb.ChatRequest(content=content, **fields)  # type: ignore[arg-type]
        return await self.stub.Chat(request, metadata=md, timeout=20)


@dataclass
class ChatEnv:
    database_url: str
    jwt: JwtSettings
    tasks: RunningTasks
    token_for: Callable[[str], str]
    tasks_stub: tasks_service_pb2_grpc.TaskServiceStub
    running: list[RunningChat] = field(default_factory=list)

    def settings(self, **overrides: object) -> ChatSettings:
        base = ChatSettings(
            server=ServerSettings(host="127.0.0.1", port=0, grace_seconds=2),
            database_url=self.database_url,
            tasks_target=self.tasks.target,
            llm=LlmSettings(provider="offline", timeout_seconds=10),
            rate_limit_per_minute=0,
        )
        return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]

    async def start_chat(
        self, provider: ScriptedProvider | None = None, **overrides: object
    ) -> RunningChat:
        settings = self.settings(**overrides)
        await chat_app.migrate(settings)
        model = provider or ScriptedProvider()
        app = chat_app.build(settings, self.jwt, provider=model)
        port = await app.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        running = RunningChat(
            app, port, model, channel, chat_service_pb2_grpc.ChatServiceStub(channel)
        )
        self.running.append(running)
        return running

    def md(self, user: str, **extra: str) -> Metadata:
        return (("authorization", f"Bearer {self.token_for(user)}"), *extra.items())


@pytest.fixture
async def chat_env(
    postgres_url: str, jwt_settings: JwtSettings, token_for: Callable[[str], str]
) -> AsyncIterator[ChatEnv]:
    # Both services on one database, as in a small deployment: their tables and
    # migration histories must coexist.
    tasks = await start_tasks(postgres_url, jwt_settings)
    channel = grpc.aio.insecure_channel(tasks.target)
    env = ChatEnv(
        postgres_url,
        jwt_settings,
        tasks,
        token_for,
        tasks_service_pb2_grpc.TaskServiceStub(channel),
    )
    yield env
    for running in env.running:
        await running.channel.close()
        await running.app.stop(0)
    await channel.close()
    await tasks.app.stop(0)


@pytest.fixture
async def chat(chat_env: ChatEnv) -> RunningChat:
    return await chat_env.start_chat()


@dataclass(frozen=True)
class ErrorDetails:
    reasons: list[str]
    fields: list[str]
    retry_seconds: int | None


def error_details(error: grpc.aio.AioRpcError) -> ErrorDetails:
    """The google.rpc details a failed call carried."""
    status = rpc_status.from_call(error)
    assert status is not None, "a rich status was sent"
    reasons: list[str] = []
    fields: list[str] = []
    retry: int | None = None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reasons.append(info.reason)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [v.field for v in bad.field_violations]
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info_retry = error_details_pb2.RetryInfo()
            detail.Unpack(info_retry)
            retry = info_retry.retry_delay.seconds
    return ErrorDetails(reasons, fields, retry)
