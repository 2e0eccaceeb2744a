"""Wires ChatService from settings: engine, TaskService channel, model, servicer, server."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from grpc import aio
from sqlalchemy.ext.asyncio import AsyncEngine
from todochat.chat.v1 import chat_service_pb2, chat_service_pb2_grpc

from services.chat.agent.telemetry import AgentMetrics
from services.chat.agent.tools import task_tools
from services.chat.handlers import ChatServicer
from services.chat.llm.base import LlmProvider
from services.chat.llm.factory import build_provider
from services.chat.tasks_client import TasksClient
from services.chat.usecases.deps import ChatDeps, TurnLimits
from services.servicekit import database
from services.servicekit.auth import TokenVerifier
from services.servicekit.config import ChatSettings, JwtSettings
from services.servicekit.metrics import Metrics
from services.servicekit.server import GrpcServer, ServiceBinding, run_until_signalled
from services.servicekit.tracing import Tracing

SERVICE_NAME = chat_service_pb2.DESCRIPTOR.services_by_name["ChatService"].full_name
MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_chat"

_log = logging.getLogger("todochat.chat")


@dataclass
class ChatApp:
    server: GrpcServer
    engine: AsyncEngine
    tasks: TasksClient
    provider: LlmProvider
    metrics: Metrics
    tracing: Tracing

    async def start(self) -> int:
        return await self.server.start()

    async def stop(self, grace: float | None = None) -> None:
        await self.server.stop(grace)
        await self.close()

    async def close(self) -> None:
        """Releases what `build` opened (after the server has stopped)."""
        await self.tasks.close()
        await self.provider.aclose()
        await self.engine.dispose()
        self.tracing.shutdown()


def build(
    settings: ChatSettings,
    jwt: JwtSettings,
    *,
    provider: LlmProvider | None = None,
    metrics: Metrics | None = None,
    tracing: Tracing | None = None,
) -> ChatApp:
    """Builds ChatService; call inside a running event loop (the gRPC channel needs one)."""
    engine = database.create_engine(settings.database_url)
    metrics = metrics or Metrics("chat")
    metrics.watch_engine("chat", engine)
    tracing = tracing or Tracing.for_otlp("todochat-chat", settings.server.otlp_endpoint)
    tasks = TasksClient(settings.tasks_target, tracing=tracing)
    model = provider if provider is not None else build_provider(settings.llm)
    tools = task_tools()
    deps = ChatDeps(
        sessions=database.create_session_factory(engine),
        read_sessions=database.create_session_factory(
            engine.execution_options(isolation_level="AUTOCOMMIT")
        ),
        provider=model,
        tasks=tasks,
        tools=tools,
        limits=TurnLimits(
            history_limit=settings.history_limit,
            max_tool_steps=settings.max_tool_steps,
            rate_limit_per_minute=settings.rate_limit_per_minute,
            turn_timeout_seconds=settings.turn_timeout_seconds,
            llm_timeout_seconds=settings.llm.timeout_seconds,
        ),
        system_prompt=settings.system_prompt,
        observer=AgentMetrics(metrics, model.name, (t.name for t in tools)),
    )
    servicer = ChatServicer(deps)

    def register(server: aio.Server) -> None:
        chat_service_pb2_grpc.add_ChatServiceServicer_to_server(servicer, server)

    async def ready() -> bool:
        return await database.ping(engine)

    server = GrpcServer(
        settings.server,
        verifier=TokenVerifier(jwt),
        bindings=[ServiceBinding(SERVICE_NAME, register)],
        readiness=ready,
        metrics=metrics,
        tracing=tracing,
    )
    return ChatApp(
        server=server, engine=engine, tasks=tasks, provider=model, metrics=metrics, tracing=tracing
    )


async def migrate(settings: ChatSettings) -> None:
    # Imported here: Alembic costs a serving process start-up time it never uses.
    from services.servicekit import migrations

    await migrations.upgrade(settings.database_url, MIGRATIONS, VERSION_TABLE)


async def serve(settings: ChatSettings, jwt: JwtSettings) -> None:
    app = build(settings, jwt)
    _log.info(
        "starting ChatService",
        extra={
            "database": database.describe(settings.database_url),
            "port": settings.server.port,
            "tasks_target": settings.tasks_target,
            "llm_provider": app.provider.name,
        },
    )
    await run_until_signalled(app.server, on_stop=app.close)
